"""Tokenizes every exported example into (ids, loss weights) and stores them per split."""
import argparse
import json
import os
import zipfile
import zlib

import numpy as np

from .dataset import TASKS, export_dirs, load_examples
from .sequences import build, build_unconditional
from .tokenizer import NanoTokenizer
from . import paths


def codes_lookup(vision_dir, data_dir):
    """path of an exported frame -> its [h, w] code grid, read from codes.npz on first use."""
    # Read through zipfile: NpzFile finds a key by scanning a list, which is quadratic over 200k frames.
    archive = zipfile.ZipFile(os.path.join(vision_dir, 'codes.npz'))
    cache = {}

    def codes_of(path):
        key = os.path.relpath(path, data_dir).replace('/', '|')
        if key not in cache:
            with archive.open(key + '.npy') as f:
                cache[key] = np.lib.format.read_array(f)
        return cache[key]
    return codes_of


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--out', default=paths.TOKENS)
    ap.add_argument('--uncond', type=float, default=0.15, help='share of t2i/x2i training examples also given as an unconditional-stream example')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    codes_of = codes_lookup(args.vision, args.data)
    stats = {}
    for split in ('train', 'heldout'):
        ids, wts, offs, task, plen, nimg, names, suites = [], [], [0], [], [], [], [], []
        for d in export_dirs(args.data, split):
            for ex in load_examples(d):
                variants = [(ex['id'], build(ex, codes_of, tok))]
                if split == 'train' and ex['task'] in ('t2i', 'x2i') and zlib.crc32(ex['id'].encode()) % 1000 < args.uncond * 1000:
                    variants.append((ex['id'] + '-uncond', build_unconditional(ex, codes_of, tok)))
                for name, (i, w, p) in variants:
                    ids.append(i)
                    wts.append(w)
                    offs.append(offs[-1] + len(i))
                    task.append(TASKS.index(ex['task']))
                    plen.append(p)
                    nimg.append(sum(o['type'] == 'image' for o in ex['output']))
                    names.append(name)
                    suites.append(ex.get('suite') or '')
        np.savez(os.path.join(args.out, f'{split}.npz'), ids=np.concatenate(ids), weights=np.concatenate(wts),
                 offsets=np.asarray(offs, np.int64), task=np.asarray(task, np.int8), prompt_len=np.asarray(plen, np.int32),
                 n_images=np.asarray(nimg, np.int32), names=np.asarray(names), suite=np.asarray(suites))
        lens = np.diff(offs)
        stats[split] = {'examples': len(task), 'tokens': int(lens.sum()), 'maxLen': int(lens.max()),
                        'perTask': {t: int((np.asarray(task) == k).sum()) for k, t in enumerate(TASKS)}}
    stats['vocab'] = {'ranks': tok.n_ranks, 'visualOffset': tok.visual_offset, 'codebook': tok.codebook_size, 'size': tok.vocab_size}
    with open(os.path.join(args.out, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    print(json.dumps(stats))


if __name__ == '__main__':
    main()
