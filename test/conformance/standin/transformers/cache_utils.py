"""`Cache` and `DynamicCache` with the transformers 4.36-4.38 semantics the official decoder relies on.

Per layer, `update` appends the new keys/values along the sequence axis (dim -2) and returns the
whole cached tensors; `seen_tokens` counts tokens that went through layer 0; a dynamic cache has
no maximum length, so `get_usable_length` is simply the cached length.
"""
from typing import Any, Dict, List, Optional, Tuple

import torch


class Cache:
    """Base class: only `get_usable_length`, whose logic is shared by every cache kind."""

    def update(self, key_states, value_states, layer_idx, cache_kwargs=None):
        raise NotImplementedError

    def get_seq_length(self, layer_idx: Optional[int] = 0) -> int:
        raise NotImplementedError

    def get_max_length(self) -> Optional[int]:
        raise NotImplementedError

    def get_usable_length(self, new_seq_length: int, layer_idx: Optional[int] = 0) -> int:
        # A bounded cache would drop its oldest entries; keep the arithmetic for fidelity.
        max_length = self.get_max_length()
        previous_seq_length = self.get_seq_length(layer_idx)
        if max_length is not None and previous_seq_length + new_seq_length > max_length:
            return max_length - new_seq_length
        return previous_seq_length


class DynamicCache(Cache):
    """Growing per-layer lists of key and value tensors, each [batch, kv_heads, seq, head_dim]."""

    def __init__(self) -> None:
        self.key_cache: List[torch.Tensor] = []
        self.value_cache: List[torch.Tensor] = []
        self.seen_tokens = 0

    def __getitem__(self, layer_idx: int) -> Tuple[torch.Tensor, torch.Tensor]:
        if layer_idx >= len(self):
            raise KeyError(f"Cache only has {len(self)} layers, attempted to access layer with index {layer_idx}")
        return self.key_cache[layer_idx], self.value_cache[layer_idx]

    def __iter__(self):
        for layer_idx in range(len(self)):
            yield self[layer_idx]

    def __len__(self) -> int:
        return len(self.key_cache)

    def update(self, key_states, value_states, layer_idx: int, cache_kwargs: Optional[Dict[str, Any]] = None):
        if layer_idx == 0:
            self.seen_tokens += key_states.shape[-2]
        if len(self.key_cache) <= layer_idx:
            if len(self.key_cache) != layer_idx:
                raise ValueError(f"DynamicCache: layer {layer_idx} updated before layer {len(self.key_cache)}")
            self.key_cache.append(key_states)
            self.value_cache.append(value_states)
        else:
            self.key_cache[layer_idx] = torch.cat([self.key_cache[layer_idx], key_states], dim=-2)
            self.value_cache[layer_idx] = torch.cat([self.value_cache[layer_idx], value_states], dim=-2)
        return self.key_cache[layer_idx], self.value_cache[layer_idx]

    def get_seq_length(self, layer_idx: Optional[int] = 0) -> int:
        if len(self.key_cache) <= layer_idx:
            return 0
        return self.key_cache[layer_idx].shape[-2]

    def get_max_length(self) -> Optional[int]:
        return None

    def reorder_cache(self, beam_idx: torch.LongTensor):
        for layer_idx in range(len(self.key_cache)):
            device = self.key_cache[layer_idx].device
            self.key_cache[layer_idx] = self.key_cache[layer_idx].index_select(0, beam_idx.to(device))
            self.value_cache[layer_idx] = self.value_cache[layer_idx].index_select(0, beam_idx.to(device))

    def to_legacy_cache(self):
        return tuple((self.key_cache[i], self.value_cache[i]) for i in range(len(self)))

    @classmethod
    def from_legacy_cache(cls, past_key_values=None) -> "DynamicCache":
        cache = cls()
        if past_key_values is not None:
            for layer_idx, (key_states, value_states) in enumerate(past_key_values):
                cache.update(key_states, value_states, layer_idx)
        return cache
