"""`ACT2FN`: activation name -> a fresh torch module (as in transformers, one instance per lookup)."""
from torch import nn

_ACTIVATIONS = {"silu": nn.SiLU, "swish": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU}


class _ClassInstantier(dict):
    def __getitem__(self, name):
        if name not in self.keys():
            raise KeyError(f"stand-in ACT2FN has no activation {name!r} (known: {sorted(self.keys())})")
        return super().__getitem__(name)()


ACT2FN = _ClassInstantier(_ACTIVATIONS)
