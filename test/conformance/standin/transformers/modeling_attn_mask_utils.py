"""The additive 4-D attention masks the eager decoder adds to its attention scores.

Shape [batch, 1, query_len, past_len + query_len]: 0 where a query may attend, the dtype's most
negative finite value where it may not (the future, and keys whose 2-D `attention_mask` entry is
0). As in transformers, a single query token (a KV-cached step) gets no causal part, since every
cached key is in its past. Sliding windows are not supported (Emu3 has none).
"""
from typing import Optional, Tuple

import torch


class AttentionMaskConverter:
    def __init__(self, is_causal: bool, sliding_window: Optional[int] = None):
        if sliding_window is not None:
            raise NotImplementedError("stand-in AttentionMaskConverter: sliding_window is not supported")
        self.is_causal = is_causal
        self.sliding_window = sliding_window

    def to_causal_4d(self, batch_size, query_length, key_value_length, dtype=torch.float32, device="cpu"):
        if not self.is_causal:
            raise ValueError("to_causal_4d needs is_causal=True")
        if query_length <= 1:
            return None
        return self._make_causal_mask(
            (batch_size, query_length), dtype, device, past_key_values_length=key_value_length - query_length
        )

    def to_4d(self, attention_mask_2d, query_length, dtype, key_value_length=None):
        batch_size = attention_mask_2d.shape[0]
        causal = None
        if query_length > 1 and self.is_causal:
            if key_value_length is None:
                raise ValueError("to_4d needs key_value_length for a causal mask")
            causal = self._make_causal_mask(
                (batch_size, query_length),
                dtype,
                attention_mask_2d.device,
                past_key_values_length=key_value_length - query_length,
            )
        expanded = self._expand_mask(attention_mask_2d, dtype, tgt_len=query_length).to(attention_mask_2d.device)
        if causal is not None:
            # Where the padding part forbids a key, overwrite (never add: two minima would overflow).
            expanded = causal.masked_fill(expanded.bool(), torch.finfo(dtype).min)
        return expanded

    @staticmethod
    def _make_causal_mask(input_ids_shape, dtype, device, past_key_values_length: int = 0):
        batch_size, tgt_len = input_ids_shape
        mask = torch.full((tgt_len, tgt_len), torch.finfo(dtype).min, device=device)
        cond = torch.arange(tgt_len, device=device)
        mask.masked_fill_(cond < (cond + 1).view(tgt_len, 1), 0)
        mask = mask.to(dtype)
        if past_key_values_length > 0:
            past = torch.zeros(tgt_len, past_key_values_length, dtype=dtype, device=device)
            mask = torch.cat([past, mask], dim=-1)
        return mask[None, None, :, :].expand(batch_size, 1, tgt_len, tgt_len + past_key_values_length)

    @staticmethod
    def _expand_mask(mask, dtype, tgt_len: Optional[int] = None):
        batch_size, src_len = mask.size()
        tgt_len = tgt_len if tgt_len is not None else src_len
        expanded = mask[:, None, None, :].expand(batch_size, 1, tgt_len, src_len).to(dtype)
        inverted = 1.0 - expanded
        return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


def _prepare_4d_causal_attention_mask(
    attention_mask: Optional[torch.Tensor],
    input_shape: Tuple[int, int],
    inputs_embeds: torch.Tensor,
    past_key_values_length: int,
    sliding_window: Optional[int] = None,
):
    converter = AttentionMaskConverter(is_causal=True, sliding_window=sliding_window)
    key_value_length = input_shape[-1] + past_key_values_length
    if attention_mask is None:
        return converter.to_causal_4d(
            input_shape[0], input_shape[-1], key_value_length, dtype=inputs_embeds.dtype, device=inputs_embeds.device
        )
    if attention_mask.dim() != 2:
        raise NotImplementedError("stand-in _prepare_4d_causal_attention_mask takes only a 2-D attention_mask")
    if attention_mask.shape[-1] != key_value_length:
        raise ValueError(
            f"attention_mask covers {attention_mask.shape[-1]} keys, expected past {past_key_values_length} + "
            f"new {input_shape[-1]} = {key_value_length}"
        )
    return converter.to_4d(attention_mask, input_shape[-1], key_value_length=key_value_length, dtype=inputs_embeds.dtype)


def _prepare_4d_causal_attention_mask_for_sdpa(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window=None):
    # transformers may return None here as an SDPA shortcut; the full mask is equivalent (SDPA is not the reference).
    return _prepare_4d_causal_attention_mask(attention_mask, input_shape, inputs_embeds, past_key_values_length, sliding_window)


def _prepare_4d_attention_mask(mask: torch.Tensor, dtype: torch.dtype, tgt_len: Optional[int] = None):
    return AttentionMaskConverter._expand_mask(mask=mask, dtype=dtype, tgt_len=tgt_len)
