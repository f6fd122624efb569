"""Turns a plain checkpoint into one whose visual-code rows are factored by slot attributes.

Each vision code names one slot's whole content: a bowl or none, then the stack bottom-up. Most of
the 627 contents the world allows are rare training targets, and their embedding and head rows stay
poorly trained (see diagnose.py's `objectsByTrainingCount`). Here each code gets an attribute row:
one-hot bowl (none, red, green, blue) and one-hot colour (none or one of six) for each of the three
stack levels. The model then trains `row = attributes @ factors + rest`, so every update of a common
code also moves the rare codes that share its bowl or a level's colour.

The conversion keeps the function exactly: the factors start as the least-squares fit of the current
rows and the rest is the residual. Export folds the factors back (`NanoLM.folded`), so the ONNX
contract does not change.
"""
import argparse
import dataclasses
import json

import numpy as np
import torch

from .export_onnx import load_model
from .model import NanoLM
from .tokenizer import NanoTokenizer
from .vision import BOWLS, PALETTE, cell_codes, grammar_cells
from . import paths

LEVELS = 3
BOWL_VALUES = (None,) + BOWLS
LEVEL_VALUES = (None,) + tuple(PALETTE)
N_ATTRIBUTES = len(BOWL_VALUES) + LEVELS * len(LEVEL_VALUES)


def cell_attributes(bowl, stack):
    row = np.zeros(N_ATTRIBUTES, np.float32)
    row[BOWL_VALUES.index(bowl)] = 1
    for lvl in range(LEVELS):
        colour = stack[lvl] if lvl < len(stack) else None
        row[len(BOWL_VALUES) + lvl * len(LEVEL_VALUES) + LEVEL_VALUES.index(colour)] = 1
    return row


def code_attributes(codebook, visual_offset, vocab_size):
    """[vocab, N_ATTRIBUTES]: the attribute row of each visual token (zeros for text and special tokens)."""
    cells = grammar_cells()
    codes = cell_codes(codebook, cells)
    if len(set(codes.tolist())) != len(cells):
        raise ValueError('two slot contents share a code: factor_codes needs one code per content')
    attrs = np.zeros((vocab_size, N_ATTRIBUTES), np.float32)
    for (bowl, stack), code in zip(cells, codes):
        attrs[visual_offset + code] = cell_attributes(bowl, stack)
    return torch.from_numpy(attrs)


def split_rows(weight, attrs):
    """Least-squares factors of the attributed rows, and the rows less their fitted part."""
    rows = attrs.abs().sum(1) > 0
    a, w = attrs[rows].double(), weight[rows].double()
    # The one-hot groups each sum to 1, so `a` has rank 22 of 25. The default CPU driver (gelsy) then
    # returns a different, sometimes worse, fit from run to run; the SVD driver gives the least-squares fit every time.
    factors = torch.linalg.lstsq(a, w, driver='gelsd').solution
    residual = w - a @ factors
    rest = weight.clone()
    rest[rows] = residual.to(weight.dtype)
    r2 = 1 - residual.pow(2).sum() / (w - w.mean(0)).pow(2).sum()
    return factors.to(weight.dtype), rest, float(r2)


def factored(plain, attrs):
    """A model with the same function as `plain`, its visual rows split into attribute factors plus a rest."""
    model = NanoLM(dataclasses.replace(plain.c, code_factors=attrs.shape[1]))
    state = plain.state_dict()
    fit = {}
    with torch.no_grad():
        model.code_attrs.copy_(attrs)
        for name, factors in (('embed_tokens', model.embed_code_factors), ('lm_head', model.head_code_factors)):
            f, rest, fit[name] = split_rows(state[f'{name}.weight'], attrs)
            factors.copy_(f)
            state[f'{name}.weight'] = rest
    missing = model.load_state_dict(state, strict=False).missing_keys
    assert sorted(missing) == ['code_attrs', 'embed_code_factors', 'head_code_factors'], missing
    return model, fit


def max_logit_gap(a, b, vocab_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (2, 48), generator=g)
    mask = torch.ones_like(ids)
    pos = torch.arange(48).expand(2, 48)
    with torch.no_grad():
        la, _ = a.forward_cached(ids, mask, pos, a.empty_past(2))
        lb, _ = b.forward_cached(ids, mask, pos, b.empty_past(2))
    return float((la - lb).abs().max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True, help='a plain checkpoint (train.py)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    args = ap.parse_args()
    plain, ck = load_model(args.ckpt)
    if ck['config'].get('code_factors'):
        raise SystemExit(f'{args.ckpt} is already factored')
    cfg = plain.c
    codebook = np.load(f'{args.vision}/codebook.npy')
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    model, fit = factored(plain, code_attributes(codebook, tok.visual_offset, cfg.vocab_size))
    model.eval()
    gaps = {'factored': max_logit_gap(plain, model, cfg.vocab_size), 'folded': max_logit_gap(plain, model.folded(), cfg.vocab_size)}
    if max(gaps.values()) > 1e-4:
        raise SystemExit(f'factoring changed the function: {gaps}')
    out = {k: v for k, v in ck.items() if k != 'opt'}
    out.update(model=model.state_dict(), config=dataclasses.asdict(model.c))
    torch.save(out, args.out)
    print(json.dumps({'out': args.out, 'attributes': N_ATTRIBUTES, 'rowsExplained': fit, 'maxLogitGap': gaps}))


if __name__ == '__main__':
    main()
