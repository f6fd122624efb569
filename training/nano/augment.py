"""t2i curriculum in token space: scenes cut down to 1-3 of their objects, and the describe task.

A t2i frame must be composed from "row R column C: ..." sentences, which means binding the
position being drawn to numbers in the text. On full scenes a small model settles for the prior
("every slot is empty") for a long time. Scenes with one to three objects give the same binding
problem with one clean answer per sentence. The vision tokenizer maps each slot's content to one
code and the empty table to code 0 (checked below), so a cut-down scene is an exact frame: the
sentences kept and their slots' codes, every other slot empty.

describe runs t2i backwards: the frame is the prompt and its caption (already in raster order) the
answer. Naming "row R column C" for each object needs image tokens that know their own slot, the
representation t2i lacks; the text loss is dense where the t2i image loss is one slot in sixty-four.
"""
import argparse
import json
import os
import re
import shutil

import numpy as np

from .dataset import TRAIN_TASKS, export_dirs, load_examples
from .prepare import codes_lookup
from .sequences import build
from .tokenizer import NanoTokenizer
from . import paths

SENTENCE = re.compile(r'^row (\d+) column (\d+): ')
EMPTY_CODE = 0


def sentences(instruction):
    """'a table seen from above. row 2 column 3: a yellow block. ...' -> (opening, [(row, col, sentence)])."""
    parts = instruction.rstrip('.').split('. ')
    placed = []
    for p in parts[1:]:
        m = SENTENCE.match(p)
        if not m:
            return None
        placed.append((int(m.group(1)), int(m.group(2)), p))
    return parts[0], placed


def cut_down(ex, grid, rng, max_objects):
    parsed = sentences(ex['instruction'])
    if not parsed or not parsed[1]:
        return None
    opening, placed = parsed
    n = int(rng.integers(1, min(max_objects, len(placed)) + 1))
    keep = sorted(rng.choice(len(placed), n, replace=False))
    out = np.full_like(grid, EMPTY_CODE)
    for k in keep:
        r, c, _ = placed[k]
        out[r, c] = grid[r, c]
    text = '. '.join([opening] + [placed[k][2] for k in keep]) + '.'
    return text, out


DESCRIBE_QUESTION = 'describe the table row by row'


def describe(ex, caption, grid, tok):
    """The frame given as the prompt's image, its caption as the answer."""
    q = {'task': 'describe', 'instruction': DESCRIBE_QUESTION, 'dir': ex['dir'], 'inputs': [ex['output'][0]['path']],
         'output': [{'type': 'text', 'text': caption}]}
    return build(q, lambda _path: grid, tok)


def check_empty_code(ex, grid):
    layout = ex['layouts'][ex['output'][0]['path']]
    for r, row in enumerate(layout):
        for c, cell in enumerate(row):
            if (cell is None) != (int(grid[r, c]) == EMPTY_CODE):
                raise ValueError(f'{ex["id"]}: slot ({r},{c}) breaks the one-code-per-slot assumption')


BOWL_COLOURS = ('red', 'green', 'blue')
SPATIAL_REFERENCE = re.compile(r'(?:above|below|left of|right of) the (\w+) (block|bowl)$')


def confusable_spatial(data_dir):
    """Ids of spatial VLA examples whose reference is a block in a bowl colour ("... left of the green block").
    The subgoal copies the goal, but bowls are twice as common as blocks after "green"/"blue"/"red", and
    the model's language prior wins over copying; these examples are sampled more often."""
    out = set()
    for d in export_dirs(data_dir, 'train'):
        for ex in load_examples(d):
            m = SPATIAL_REFERENCE.search(ex['instruction']) if ex.get('suite') == 'spatial' else None
            if m and m.group(2) == 'block' and m.group(1) in BOWL_COLOURS:
                out.add(ex['id'])
    return out


class Added:
    """Sequences built in token space, to be appended to a tokenized train split (prepare.py's npz layout)."""

    def __init__(self):
        self.ids, self.wts, self.lens, self.plen, self.names, self.tasks, self.images = [], [], [], [], [], [], []

    def add(self, seq, name, task, output_images):
        i, w, p = seq
        self.images.append(output_images)
        self.ids.append(i)
        self.wts.append(w)
        self.lens.append(len(i))
        self.plen.append(p)
        self.names.append(name)
        self.tasks.append(TRAIN_TASKS.index(task))

    def merged_with(self, z):
        n, tasks = len(self.ids), self.tasks
        offs = z['offsets'][-1] + np.concatenate([[0], np.cumsum(self.lens)])
        out = {
            'ids': np.concatenate([z['ids']] + self.ids), 'weights': np.concatenate([z['weights']] + self.wts),
            'offsets': np.concatenate([z['offsets'], offs[1:]]).astype(np.int64),
            'task': np.concatenate([z['task'], np.asarray(tasks, np.int8)]),
            'prompt_len': np.concatenate([z['prompt_len'], np.asarray(self.plen, np.int32)]),
            'n_images': np.concatenate([z['n_images'], np.asarray(self.images, np.int32)]),
            'names': np.concatenate([z['names'], np.asarray(self.names)]),
            'suite': np.concatenate([z['suite'], np.asarray([''] * n)]),
        }
        if 'sample_weight' in z:
            out['sample_weight'] = np.concatenate([z['sample_weight'], np.ones(n, np.float32)])
        return out


def write_token_folder(tokens_dir, out_dir, merged, added_per_task, section, info):
    """Writes a token folder: the merged train split, the source's held-out split unchanged, and the source's
    stats with the added examples counted and `info` under `section`. Returns the stats."""
    np.savez(os.path.join(out_dir, 'train.npz'), **merged)
    shutil.copy(os.path.join(tokens_dir, 'heldout.npz'), os.path.join(out_dir, 'heldout.npz'))
    stats = json.load(open(os.path.join(tokens_dir, 'stats.json')))
    stats['train'].update(examples=int(len(merged['task'])), tokens=int(merged['offsets'][-1]))
    for t, c in added_per_task.items():
        stats['train']['perTask'][t] = stats['train']['perTask'].get(t, 0) + c
    stats[section] = info
    with open(os.path.join(out_dir, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    return stats


def sample_weights(names, data_dir, weight):
    hard = confusable_spatial(data_dir)
    return np.asarray([weight if str(n) in hard else 1.0 for n in names], np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--tokens', default=paths.TOKENS)
    ap.add_argument('--out', default=paths.data('tokens-aug'))
    ap.add_argument('--per-example', type=int, default=1)
    ap.add_argument('--max-objects', type=int, default=3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--describe', type=int, default=1, help='also build describe examples (full and cut-down scenes)')
    ap.add_argument('--confusable-weight', type=float, default=3.0,
                    help='sampling weight of spatial goals that name a block in a bowl colour')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    codes_of = codes_lookup(args.vision, args.data)
    z = dict(np.load(os.path.join(args.tokens, 'train.npz')))
    added = Added()
    for d in export_dirs(args.data, 'train'):
        for ex in load_examples(d):
            if ex['task'] != 't2i':
                continue
            target = os.path.join(ex['dir'], ex['output'][0]['path'])
            grid = codes_of(target)
            check_empty_code(ex, grid)
            if args.describe:
                added.add(describe(ex, ex['instruction'], grid, tok), f'{ex["id"]}-describe', 'describe', 0)
            rng = np.random.default_rng([args.seed, int(ex['seed'])])
            for k in range(args.per_example):
                cut = cut_down(ex, grid, rng, args.max_objects)
                if cut is None:
                    continue
                text, small = cut
                added.add(build(dict(ex, instruction=text), lambda path, small=small: small, tok), f'{ex["id"]}-part{k}', 't2i', 1)
                if args.describe:
                    added.add(describe(ex, text, small, tok), f'{ex["id"]}-part{k}-describe', 'describe', 0)
    out = added.merged_with(z)
    tasks = added.tasks
    out['sample_weight'] = sample_weights(out['names'], args.data, args.confusable_weight)
    added = {t: tasks.count(k) for k, t in enumerate(TRAIN_TASKS) if k in tasks}
    stats = write_token_folder(args.tokens, args.out, out, added, 'augment',
                               {'t2iCutDown': added.get('t2i', 0), 'describe': added.get('describe', 0),
                                'maxObjects': args.max_objects, 'perExample': args.per_example})
    print(json.dumps(stats['augment'] | {'trainExamples': int(len(out['task']))}))


if __name__ == '__main__':
    main()
