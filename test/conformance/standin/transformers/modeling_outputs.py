"""Output containers: dataclasses that also index like tuples of their non-None fields (as `ModelOutput`)."""
from dataclasses import dataclass, fields
from typing import Any, Optional


class ModelOutput:
    def to_tuple(self):
        return tuple(getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None)

    def __getitem__(self, key):
        if isinstance(key, str):
            return getattr(self, key)
        return self.to_tuple()[key]


@dataclass
class BaseModelOutputWithPast(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Optional[Any] = None
    hidden_states: Optional[Any] = None
    attentions: Optional[Any] = None


@dataclass
class CausalLMOutputWithPast(ModelOutput):
    loss: Optional[Any] = None
    logits: Any = None
    past_key_values: Optional[Any] = None
    hidden_states: Optional[Any] = None
    attentions: Optional[Any] = None


@dataclass
class SequenceClassifierOutputWithPast(CausalLMOutputWithPast):
    pass
