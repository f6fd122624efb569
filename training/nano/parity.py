"""Writes parity.json: tokenizer ids, vision codes and decoder logits/greedy tokens from torch,
for the node tests that run the same through the TS tokenizer and onnxruntime-node."""
import argparse
import base64
import io
import json
import os

import numpy as np
import torch
from PIL import Image

from .dataset import TASKS, export_dirs, load_examples, load_frame
from .export_onnx import load_model
from .sequences import image_string, prompt, unconditional_prompt
from .tokenizer import NanoTokenizer
from .vision import encode_np
from . import paths

TRICKY = [
    "it's the robot's block, isn't it? they'll say we'd've done it",
    'row 12 column 7: 3 blocks  under\ta bowl.\n\nnext   line \r\n',
    'ALL CAPS Mixed-Case: a/b (c) [d] {e} #1!!! ...?',
    '<|extra_203|>hi<|image start|>8*8<|image token|><|visual token 000001|><|extra_200|><|image end|> end',
]


@torch.no_grad()
def greedy_trace(model, ids, steps, topk):
    past = model.empty_past()
    x = torch.tensor([ids])
    logits, past = model.forward_cached(x, torch.ones(1, len(ids), dtype=torch.int64), torch.arange(len(ids)).unsqueeze(0), past)
    last = logits[0, -1]
    v, i = last.topk(topk)
    rec = {'prompt': ids, 'prefillTopIds': i.tolist(), 'prefillTopValues': [round(float(a), 6) for a in v],
           'prefillArgmax': int(last.argmax()), 'greedy': [], 'stepTopValues': []}
    n = len(ids)
    tok = int(last.argmax())
    for _ in range(steps):
        rec['greedy'].append(tok)
        logits, past = model.forward_cached(torch.tensor([[tok]]), torch.ones(1, n + 1, dtype=torch.int64),
                                            torch.tensor([[n]]), past)
        n += 1
        row = logits[0, -1]
        rec['stepTopValues'].append([round(float(a), 6) for a in row.topk(3).values])
        tok = int(row.argmax())
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--ckpt', default=paths.CKPT)
    ap.add_argument('--out', default=os.path.join(paths.MODEL, 'parity.json'))
    ap.add_argument('--steps', type=int, default=40)
    args = ap.parse_args()
    torch.set_num_threads(2)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    model, _ = load_model(args.ckpt)
    firsts = {ex['task']: ex for d in export_dirs(args.data, 'heldout') for ex in load_examples(d)[:1]}
    texts, decoder, vision = list(TRICKY), [], []
    for task in TASKS:
        ex = firsts.get(task)
        if ex is None:
            continue
        frames = [load_frame(os.path.join(ex['dir'], p)) for p in ex['inputs']]
        codes = [encode_np(f, codebook) for f in frames]
        text = prompt(task, ex['instruction'], [image_string(c) for c in codes])
        ids = tok.encode(text)
        texts += [ex['instruction']] + [o['text'] for o in ex['output'] if o['type'] == 'text']
        rec = greedy_trace(model, ids, args.steps, 10)
        rec.update(task=task, id=ex['id'], text=text, question=ex['instruction'], images=[c.tolist() for c in codes],
                   uncondPrompt=tok.encode(unconditional_prompt([image_string(c) for c in codes])))
        decoder.append(rec)
        for f, c in zip(frames[:1], codes[:1]):
            buf = io.BytesIO()
            Image.fromarray(f).save(buf, format='PNG', optimize=True)
            layout = ex.get('layouts', {}).get(ex['inputs'][0])
            vision.append({'id': ex['id'], 'png': base64.b64encode(buf.getvalue()).decode(), 'codes': c.tolist(), 'layout': layout})
    tokenizer = [{'text': t, 'ids': tok.encode(t)} for t in dict.fromkeys(texts)]
    out = {'format': 'emu-nano-parity', 'version': 1, 'tolerance': 1e-4, 'tokenizer': tokenizer, 'decoder': decoder, 'vision': vision}
    with open(args.out, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    print(f'wrote {args.out}: {len(tokenizer)} texts, {len(decoder)} prompts, {len(vision)} frames, {os.path.getsize(args.out) / 1e3:.0f} kB')


if __name__ == '__main__':
    main()
