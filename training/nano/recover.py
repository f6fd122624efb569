"""Rebuilds a resumable training checkpoint from a shipped model folder (decoder.onnx + training-summary.json).

Training checkpoints stay on the machine that trained them; the repo ships only the ONNX decoder. With this,
a fresh clone continues training the shipped model instead of replaying the whole recipe. The decoder's
weights come back exactly (the export's MatMul initializers are the transposed Linear weights, in the order
the layers run); the code factors, if the summary says the model trained with them, are refitted by
`factor_codes.factored`, which keeps the function. The optimizer moments are lost, so resume with a warm-up.
Step, minutes and tokens come from the summary, and its loss curve (every ~30th record) stands in for the log.
"""
import argparse
import dataclasses
import json
import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .export_onnx import export
from .factor_codes import code_attributes, factored
from .model import NanoConfig, NanoLM
from .tokenizer import NanoTokenizer
from . import paths

LINEARS = ('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'gate_proj', 'up_proj', 'down_proj')


def matmul_weights(graph):
    """The initializers that feed MatMul nodes, in the order the graph runs them."""
    inits = {i.name: i for i in graph.initializer}
    return [numpy_helper.to_array(inits[n.input[1]]) for n in graph.node if n.op_type == 'MatMul' and n.input[1] in inits]


def plain_state(graph, cfg):
    """The plain NanoLM state dict the exported decoder holds."""
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    mats = matmul_weights(graph)
    expected = cfg.n_layers * len(LINEARS) + 1
    if len(mats) != expected:
        raise ValueError(f'decoder has {len(mats)} weight MatMuls, expected {expected} for {cfg.n_layers} layers')
    state = {k.removeprefix('model.'): torch.from_numpy(v.copy()) for k, v in inits.items() if k.startswith('model.')}
    for layer in range(cfg.n_layers):
        for j, name in enumerate(LINEARS):
            state[f'layers.{layer}.{name}.weight'] = torch.from_numpy(mats[layer * len(LINEARS) + j].T.copy())
    state['lm_head.weight'] = torch.from_numpy(mats[-1].T.copy())
    return state


def write_codebook(model_dir, vision_dir):
    """The shipped vision codebook (the decoder's only initializer) and its vision.json, so that
    `vision --keep-codebook` encodes a new export with the codes the decoder was trained on. A codebook
    learnt afresh holds the same patches in another order (its frequencies come from a different export)."""
    graph = onnx.load(os.path.join(model_dir, 'vision_decoder.onnx')).graph
    (codebook,) = [numpy_helper.to_array(i) for i in graph.initializer]
    os.makedirs(vision_dir, exist_ok=True)
    np.save(os.path.join(vision_dir, 'codebook.npy'), codebook)
    info = json.load(open(os.path.join(model_dir, 'training-summary.json')))['vision']
    with open(os.path.join(vision_dir, 'vision.json'), 'w') as f:
        json.dump({k: info[k] for k in ('uniquePatches', 'withGrammar', 'method') if k in info}, f, indent=1)
    return codebook


def recover(model_dir, vision_dir):
    summary = json.load(open(os.path.join(model_dir, 'training-summary.json')))
    cfg = NanoConfig(**{**summary['config'], 'code_factors': 0})
    plain = NanoLM(cfg)
    plain.load_state_dict(plain_state(onnx.load(os.path.join(model_dir, 'decoder.onnx')).graph, cfg))
    plain.eval()
    model, fit = plain, None
    if summary.get('trainedWithCodeFactors'):
        codebook = np.load(os.path.join(vision_dir, 'codebook.npy'))
        tok = NanoTokenizer.load(os.path.join(model_dir, 'nano.tiktoken'), codebook.shape[0])
        model, fit = factored(plain, code_attributes(codebook, tok.visual_offset, cfg.vocab_size))
    hist = summary.get('lossCurve') or []
    ck = {'model': model.state_dict(), 'config': dataclasses.asdict(model.c), 'step': summary['steps'],
          'elapsed': summary['wallMinutes'] * 60, 'tokens': summary['tokensSeen'], 'hist': hist,
          'recoveredFrom': os.path.abspath(model_dir)}
    return ck, model, fit


def check_round_trip(model, model_dir):
    """Exports the recovered model again and compares every weight with the shipped decoder's (this also
    proves the refitted code factors fold back to the shipped rows)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'decoder.onnx')
        export(model.folded().eval(), path)
        again = onnx.load(path).graph
    shipped = onnx.load(os.path.join(model_dir, 'decoder.onnx')).graph
    mats, mats_again = matmul_weights(shipped), matmul_weights(again)
    pairs = list(zip(mats, mats_again))
    named = lambda g: {i.name: numpy_helper.to_array(i) for i in g.initializer if i.name.startswith('model.')}
    a, b = named(shipped), named(again)
    if sorted(a) != sorted(b) or len(mats) != len(mats_again):
        raise ValueError('the re-exported decoder has other weights than the shipped one')
    gap = max([float(np.abs(x - y).max()) for x, y in pairs] + [float(np.abs(a[k] - b[k]).max()) for k in a])
    if gap > 1e-5:
        raise ValueError(f'the recovered weights differ from the shipped decoder by up to {gap}')
    return gap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=paths.MODEL)
    ap.add_argument('--vision', default=paths.VISION, help='the codebook, needed to refit code factors')
    ap.add_argument('--out', help='checkpoint path, e.g. training/runs/nano/ckpt.pt')
    ap.add_argument('--codebook-only', action='store_true', help='only write VISION/codebook.npy and vision.json from the model')
    args = ap.parse_args()
    if args.codebook_only:
        print(json.dumps({'codebook': write_codebook(args.model, args.vision).shape}))
        return
    ck, model, fit = recover(args.model, args.vision)
    gap = check_round_trip(model, args.model)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(ck, args.out)
    print(json.dumps({'out': args.out, 'step': ck['step'], 'min': round(ck['elapsed'] / 60, 2),
                      'codeFactors': ck['config']['code_factors'], 'rowsExplained': fit, 'maxWeightGap': gap}))


if __name__ == '__main__':
    main()
