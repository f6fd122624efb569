"""Assembles models/emu-nano/: manifest, ranks, ONNX files, training summary."""
import argparse
import dataclasses
import json
import os
import shutil

import numpy as np

from .dataset import TASKS
from .export_onnx import load_model
from .model import count_params
from .sequences import CONDITIONAL, CONDITIONAL_X2I, UNCONDITIONAL, UNCONDITIONAL_NO_IMAGE, extra_for
from .tokenizer import SPECIAL_TOKENS, NanoTokenizer, VISUAL_FORMAT
from . import paths

GREEDY = {'topK': 1, 'topP': 1.0, 'temperature': 1.0}
NARRATE = {'topK': 3, 'topP': 0.9, 'temperature': 0.7}
# Images are decoded by speculative Jacobi decoding: under greedy it gives sequential decoding's tokens
# exactly, in 0.14 forward passes per image token (npm run bench:images, docs/benchmarks.md).
IMAGE = {**GREEDY, 'parallel': 'jacobi', 'draftWindow': 16}
FRAME_AREA = 128 * 128


def ids_of(tok):
    s = tok.sid
    return {'pad': s('<|endoftext|>'), 'bos': s('<|extra_203|>'), 'eos': s('<|extra_204|>'), 'bss': s('<|extra_100|>'),
            'ess': s('<|extra_101|>'), 'boi': s('<|image start|>'), 'eoi': s('<|image end|>'), 'img': s('<|image token|>'),
            'eol': s('<|extra_200|>'), 'eof': s('<|extra_201|>'), 'boc': s('<|extra_50|>'), 'eoc': s('<|extra_51|>'),
            'bog': s('<|extra_60|>'), 'eog': s('<|extra_61|>')}


def task_config(task, max_new, cfg=1.0):
    # Only t2i/x2i are trained on the unconditional stream (training/nano/sequences.py), so only they
    # may guide with cfg > 1; the interleaved tasks and VLA keep cfg 1 (no unconditional stream at all).
    single = task in ('t2i', 'x2i')
    return {
        'conditional': (CONDITIONAL_X2I if task == 'x2i' else CONDITIONAL).replace('{extra}', '{extra}'),
        'unconditional': UNCONDITIONAL,
        'unconditionalNoImage': UNCONDITIONAL_NO_IMAGE,
        'extra': extra_for(task),
        'sampling': {'cfg': cfg, 'text': NARRATE if task == 'story' else GREEDY, 'image': IMAGE,
                     'maxNewTokens': max_new, 'imageArea': FRAME_AREA},
        'singleImage': single,
        'stopAtEoi': single,
        # one-digit grids (8*8) cannot come from the auto header mask (two digits), so always preset
        'defaultAspect': '1:1',
    } | ({'session': explore_session()} if task == 'explore' else {})


def explore_session():
    """explore was trained on single answers that narrate each camera move, then show the view (at most
    MAX_STEPS of them): a session continues that answer, and re-anchors on the newest view past it."""
    from .worlds import EXPLORE_INSTRUCTION, MAX_STEPS
    return {'placement': 'answer', 'question': EXPLORE_INSTRUCTION, 'maxViews': MAX_STEPS}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--tokens', default=paths.TOKENS)
    ap.add_argument('--decoder', default=paths.DECODER)
    ap.add_argument('--ckpt', default=paths.CKPT)
    ap.add_argument('--eval', default=paths.EVAL)
    ap.add_argument('--out', default=paths.MODEL)
    ap.add_argument('--cfg', type=json.loads, default={}, help='JSON {task: guidance scale}; t2i/x2i only (the tasks trained unconditionally)')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    model, ck = load_model(args.ckpt)  # folded: the parameters the ONNX decoder holds
    cfg = dataclasses.asdict(model.c)
    z = np.load(os.path.join(args.tokens, 'train.npz'))
    lens, plen, task = np.diff(z['offsets']), z['prompt_len'], z['task']
    longest = int(lens.max())
    max_pos = int(-(-longest * 3 // 2 // 256) * 256)
    tasks = {}
    for k, t in enumerate(TASKS):
        m = task == k
        if m.any():
            out_max = int((lens[m] - plen[m]).max())
            tasks[t] = task_config(t, int(-(-out_max * 3 // 2 // 64) * 64), args.cfg.get(t, 1.0))
    manifest = {
        'name': 'emu-nano',
        'version': '1',
        'description': 'Small decoder trained on the emu-robotics simulator world; Emu3.5 token grammar and prompt templates.',
        'tokenizer': {'ranks': 'nano.tiktoken', 'pattern': 'qwen', 'specialTokens': SPECIAL_TOKENS,
                      'visualTokenFormat': '<|visual token %06d|>', 'normalization': 'NFC'},
        'vocab': {'size': tok.vocab_size, 'visualOffset': tok.visual_offset, 'codebookSize': tok.codebook_size, 'ids': ids_of(tok)},
        'decoder': {'file': 'decoder.onnx', 'numLayers': cfg['n_layers'], 'numKvHeads': cfg['n_kv_heads'],
                    'headDim': cfg['head_dim'], 'dtype': 'float32', 'maxPositions': max_pos},
        'vision': {'encoder': 'vision_encoder.onnx', 'decoder': 'vision_decoder.onnx', 'downsample': 16,
                   'normalize': {'scale': 127.5, 'shift': 1}},
        'tasks': tasks,
        'imageSizing': {'aspectPresets': {'1:1': [8, 8], 'default': [8, 8]}, 'defaultSeed': 6666},
    }
    with open(os.path.join(args.out, 'emu-model.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    shutil.copyfile(args.ranks, os.path.join(args.out, 'nano.tiktoken'))
    shutil.copyfile(args.decoder, os.path.join(args.out, 'decoder.onnx'))
    for n in ('vision_encoder.onnx', 'vision_decoder.onnx'):
        shutil.copyfile(os.path.join(args.vision, n), os.path.join(args.out, n))
    hist = ck['hist']
    tail = hist[-5:] if hist else []
    summary = {
        'params': count_params(model),
        'config': cfg,
        'trainedWithCodeFactors': ck['config'].get('code_factors', 0),
        'steps': ck['step'], 'tokensSeen': ck['tokens'], 'wallMinutes': round(ck['elapsed'] / 60, 2),
        'finalLoss': {k: round(float(np.mean([h[k] for h in tail])), 4) for k in ('loss', 'text', 'img')} if tail else None,
        'imgLossBelow0.1AtMinute': next((h['min'] for h in hist if h['img'] < 0.1), None),
        'lossCurve': hist[::max(1, len(hist) // 30)],
        'data': json.load(open(os.path.join(args.tokens, 'stats.json'))),
        'vision': json.load(open(os.path.join(args.vision, 'vision.json'))),
        'heldoutEval': json.load(open(args.eval)) if os.path.exists(args.eval) else None,
    }
    with open(os.path.join(args.out, 'training-summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f'{args.out}: {total / 1e6:.1f} MB, vocab {tok.vocab_size}, maxPositions {max_pos}')


if __name__ == '__main__':
    main()
