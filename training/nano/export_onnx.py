"""Exports the trained decoder to ONNX with explicit past key/values (the SDK's decoder contract)."""
import argparse
import os

import torch
from torch import nn

from .model import NanoConfig, NanoLM
from . import paths


class OnnxDecoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.model.forward_cached(input_ids, attention_mask, position_ids, past)
        return (logits, *[t for kv in presents for t in kv])


def load_model(ckpt_path):
    ck = torch.load(ckpt_path)
    model = NanoLM(NanoConfig(**ck['config']))
    model.load_state_dict(ck['model'])
    return model.folded().eval(), ck


def io_names(n_layers):
    past = [f'past_key_values.{i}.{kv}' for i in range(n_layers) for kv in ('key', 'value')]
    present = [f'present.{i}.{kv}' for i in range(n_layers) for kv in ('key', 'value')]
    return past, present


def export(model, path):
    c = model.c
    past_names, present_names = io_names(c.n_layers)
    p, s = 3, 2  # traced with a non-empty past; P=0 is checked by the parity test
    ids = torch.zeros(1, s, dtype=torch.int64)
    mask = torch.ones(1, p + s, dtype=torch.int64)
    pos = torch.arange(p, p + s).unsqueeze(0)
    past = [torch.zeros(1, c.n_kv_heads, p, c.head_dim) for _ in past_names]
    dyn = {'input_ids': {0: 'batch', 1: 'seq'}, 'attention_mask': {0: 'batch', 1: 'total'},
           'position_ids': {0: 'batch', 1: 'seq'}, 'logits': {0: 'batch', 1: 'seq'}}
    dyn.update({n: {0: 'batch', 2: 'past'} for n in past_names})
    dyn.update({n: {0: 'batch', 2: 'total'} for n in present_names})
    with torch.no_grad():
        torch.onnx.export(OnnxDecoder(model), (ids, mask, pos, *past), path, opset_version=17,
                          input_names=['input_ids', 'attention_mask', 'position_ids', *past_names],
                          output_names=['logits', *present_names], dynamic_axes=dyn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', default=paths.CKPT)
    ap.add_argument('--out', default=paths.DECODER)
    args = ap.parse_args()
    model, _ = load_model(args.ckpt)
    export(model, args.out)
    import onnx
    onnx.checker.check_model(onnx.load(args.out))
    print(f'wrote {args.out} ({os.path.getsize(args.out) / 1e6:.1f} MB)')


if __name__ == '__main__':
    main()
