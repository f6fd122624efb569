"""Held-out sanity numbers in python: batched greedy decoding with the Emu3.5 grid constraints
(header forced to the reference grid, EOL/EOI forced, visual-only inside rows, text mode without
visual ids), compared item by item with the reference output."""
import argparse
import json
import os
import time

import numpy as np
import torch

from .dataset import TASKS
from .export_onnx import load_model
from .tokenizer import NanoTokenizer
from . import paths


def parse(ids, tok):
    """Generated ids -> list of ('text', str) / ('image', codes tuple)."""
    items, text, img, row = [], [], None, []
    boi, eoi, eol = tok.sid('<|image start|>'), tok.sid('<|image end|>'), tok.sid('<|extra_200|>')
    img_tok, ends = tok.sid('<|image token|>'), {tok.sid('<|extra_101|>'), tok.sid('<|extra_204|>')}
    for i in ids:
        if img is not None:
            if i == eoi:
                if row:
                    img.append(tuple(row))
                items.append(('image', tuple(img)))
                img, row = None, []
            elif i == eol:
                img.append(tuple(row))
                row = []
            elif i >= tok.visual_offset:
                row.append(i - tok.visual_offset)
            elif i == img_tok:
                row = []
            continue
        if i == boi:
            if text:
                items.append(('text', tok.decode(text)))
            text, img = [], []
        elif i not in ends:
            text.append(i)
    if text:
        items.append(('text', tok.decode(text)))
    return items


class Constrainer:
    """Per-row grammar state: mirrors the SDK engine's forced tokens for a fixed h x w grid."""

    def __init__(self, tok, h, w):
        self.tok, self.h, self.w = tok, h, w
        self.header = tok.encode_ordinary(f'{h}*{w}') + [tok.sid('<|image token|>')]
        self.mode, self.k = 'text', 0

    def allowed(self, logits):
        t = self.tok
        if self.mode == 'done':
            return t.sid('<|extra_204|>')
        if self.mode == 'header':
            return self.header[self.k]
        if self.mode == 'grid':
            p = self.k + 1
            if p == self.h * (self.w + 1) - 1 + 1:
                return t.sid('<|image end|>')
            if p % (self.w + 1) == 0:
                return t.sid('<|extra_200|>')
            return int(logits[t.visual_offset:].argmax()) + t.visual_offset
        return int(logits[:t.visual_offset].argmax())

    def push(self, i):
        t = self.tok
        if self.mode == 'text':
            if i == t.sid('<|image start|>'):
                self.mode, self.k = 'header', 0
            elif i == t.sid('<|extra_101|>'):
                self.mode = 'done'
        elif self.mode == 'header':
            self.k += 1
            if self.k == len(self.header):
                self.mode, self.k = 'grid', 0
        elif self.mode == 'grid':
            self.k += 1
            if i == t.sid('<|image end|>'):
                self.mode = 'text'


@torch.no_grad()
def generate(model, tok, prompts, max_new, h=8, w=8):
    b = len(prompts)
    L = max(len(p) for p in prompts)
    ids = torch.zeros(b, L, dtype=torch.int64)
    mask = torch.zeros(b, L, dtype=torch.int64)
    for r, p in enumerate(prompts):
        ids[r, L - len(p):] = torch.tensor(p)
        mask[r, L - len(p):] = 1
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = model.forward_cached(ids, mask, pos, model.empty_past(b))
    cons = [Constrainer(tok, h, w) for _ in range(b)]
    out = [[] for _ in range(b)]
    done = [False] * b
    nxt_pos = pos[:, -1:] + 1
    eos = tok.sid('<|extra_204|>')
    for _ in range(max_new):
        step = []
        for r in range(b):
            i = eos if done[r] else cons[r].allowed(logits[r, -1])
            if not done[r]:
                out[r].append(i)
                cons[r].push(i)
                done[r] = i == eos
            step.append(i)
        if all(done):
            break
        mask = torch.cat([mask, torch.ones(b, 1, dtype=torch.int64)], 1)
        logits, past = model.forward_cached(torch.tensor(step).unsqueeze(1), mask, nxt_pos, past)
        nxt_pos = nxt_pos + 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tokens', default=paths.TOKENS)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ckpt', default=paths.CKPT)
    ap.add_argument('--out', default=paths.EVAL)
    ap.add_argument('--per-task', type=int, default=30)
    ap.add_argument('--vla', type=int, default=100)
    ap.add_argument('--batch', type=int, default=20)
    ap.add_argument('--tasks', default='', help='comma-separated subset (default: all)')
    args = ap.parse_args()
    torch.set_num_threads(2)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    model, _ = load_model(args.ckpt)
    z = np.load(os.path.join(args.tokens, 'heldout.npz'))
    off, plen, task = z['offsets'], z['prompt_len'], z['task']
    report, t0 = (json.load(open(args.out)) if args.tasks and os.path.exists(args.out) else {}), time.time()
    for k, name in enumerate(TASKS):
        if args.tasks and name not in args.tasks.split(','):
            continue
        idx = np.nonzero(task == k)[0][:args.vla if name == 'vla' else args.per_task]
        if len(idx) == 0:
            continue
        agg = {'n': 0, 'exact': 0, 'textItems': 0, 'textExact': 0, 'images': 0, 'imagesExact': 0, 'cells': 0, 'cellsRight': 0,
               'itemCountRight': 0, 'planExact': 0}
        for s in range(0, len(idx), args.batch):
            chunk = idx[s:s + args.batch]
            prompts = [z['ids'][off[i]:off[i] + plen[i]].tolist() for i in chunk]
            refs = [parse(z['ids'][off[i] + plen[i]:off[i + 1]].tolist(), tok) for i in chunk]
            max_new = max(off[i + 1] - off[i] - plen[i] for i in chunk) + 80
            for gen, ref in zip(generate(model, tok, prompts, int(max_new)), refs):
                got = parse(gen, tok)
                agg['n'] += 1
                agg['exact'] += got == ref
                agg['itemCountRight'] += len(got) == len(ref)
                agg['planExact'] += [x for x in got if x[0] == 'text'] == [x for x in ref if x[0] == 'text']
                for a, b in zip(ref, got + [None] * len(ref)):
                    if a[0] == 'text':
                        agg['textItems'] += 1
                        agg['textExact'] += b is not None and b == a
                    else:
                        agg['images'] += 1
                        ok = b is not None and b[0] == 'image' and np.shape(b[1]) == np.shape(a[1])
                        right = int((np.asarray(b[1]) == np.asarray(a[1])).sum()) if ok else 0
                        agg['imagesExact'] += right == np.size(a[1])
                        agg['cells'] += np.size(a[1])
                        agg['cellsRight'] += right
        report[name] = {
            'episodes': agg['n'], 'exactOutput': round(agg['exact'] / agg['n'], 3),
            'rightItemCount': round(agg['itemCountRight'] / agg['n'], 3),
            'textPlanExact': round(agg['planExact'] / agg['n'], 3),
            'textItemExact': round(agg['textExact'] / agg['textItems'], 3) if agg['textItems'] else None,
            'keyframeExact': round(agg['imagesExact'] / agg['images'], 3) if agg['images'] else None,
            'cellAccuracy': round(agg['cellsRight'] / agg['cells'], 4) if agg['cells'] else None,
        }
        print(name, json.dumps(report[name]), f'{time.time() - t0:.0f}s', flush=True)
    report['note'] = ('greedy, reference 8x8 grid forced; items compared in order with the reference output '
                      '(keyframes against the reference keyframe at the same index)')
    with open(args.out, 'w') as f:
        json.dump(report, f, indent=1)


if __name__ == '__main__':
    main()
