"""Synthetic explore worlds: the explore task on 16×16 worlds built directly in token space.

explore's images are judged on the part of the view that stays in sight, which must shift by two
slots. That is a copy from the previous image at a fixed offset, and the model copies vertical shifts
well (a block of whole rows) but horizontal ones badly (each row copies six slots, then draws two new
ones). The export holds 2000 explore examples, seen dozens of times each by the end of training. Here
every example walks the camera over a fresh world, with the exporter's own rules (sim/tasks/taskExamples.ts:
an 8×8 window at even offsets of a 16×16 world, 2-5 moves, each uniform over the moves that stay inside).
Slot contents are half the explore export's own distribution, half uniform over every content the
grammar allows, so rare codes are copied too. Windows equal to a held-out explore frame are skipped.
The slots a move brings into view are random here, so they carry no loss: only the copy, the moves'
text and the grammar are scored (the exported examples still teach what the world looks like).
"""
import argparse
import json
import os

import numpy as np

from .augment import Added, EMPTY_CODE, write_token_folder
from .cells import Grids
from .dataset import load_examples
from .sequences import build
from .tokenizer import NanoTokenizer
from .vision import grammar_cells
from . import paths

# The simulator's explore constants, generated from sim/tasks/taskExamples.ts (training/sharedTables.ts):
# one definition, so the synthetic walks move the camera exactly as the exporter does.
with open(os.path.join(os.path.dirname(__file__), 'shared_tables.json')) as _f:
    _EXPLORE = json.load(_f)['explore']
WORLD, VIEW = _EXPLORE['world'], _EXPLORE['view']
EXPLORE_INSTRUCTION = _EXPLORE['instruction']
MIN_STEPS, MAX_STEPS = _EXPLORE['steps']
# (text, rows, columns)
MOVES = tuple((text, dr, dc) for text, dr, dc in _EXPLORE['moves'])


def export_codes(grids, data_dir, split):
    """Every explore frame of one export split, as a code grid."""
    frames = []
    for ex in load_examples(os.path.join(data_dir, f'explore-{split}')):
        frames.extend(grids(layout) for layout in ex['layouts'].values())
    return frames


def random_world(rng, observed, uniform, occupied=(20, 41)):
    """A WORLD×WORLD code grid; each occupied slot's code comes from `observed` or `uniform` with equal odds."""
    world = np.full(WORLD * WORLD, EMPTY_CODE, np.int64)
    n = int(rng.integers(*occupied))
    slots = rng.choice(WORLD * WORLD, n, replace=False)
    from_observed = rng.random(n) < 0.5
    world[slots] = np.where(from_observed, rng.choice(observed, n), rng.choice(uniform, n))
    return world.reshape(WORLD, WORLD)


def walk(rng, world):
    """(first window, [(move text, window)]): the exporter's camera walk over `world`."""
    r, c = 2 * int(rng.integers(5)), 2 * int(rng.integers(5))
    first, steps = window(world, r, c), []
    for _ in range(MIN_STEPS + int(rng.integers(MAX_STEPS - MIN_STEPS + 1))):
        legal = [m for m in MOVES if 0 <= r + m[1] <= WORLD - VIEW and 0 <= c + m[2] <= WORLD - VIEW]
        text, dr, dc = legal[int(rng.integers(len(legal)))]
        r, c = r + dr, c + dc
        steps.append((text, window(world, r, c)))
    return first, steps


def window(world, r, c):
    return world[r:r + VIEW, c:c + VIEW]


def example_sequence(first, steps, tok):
    frames = {'in': first} | {f'out{k}': w for k, (_, w) in enumerate(steps)}
    output = [item for k, (text, _) in enumerate(steps) for item in ({'type': 'text', 'text': text}, {'type': 'image', 'path': f'out{k}'})]
    ex = {'task': 'explore', 'instruction': EXPLORE_INSTRUCTION, 'dir': '', 'inputs': ['in'], 'output': output}
    ids, weights, prompt_len = build(ex, frames.__getitem__, tok)
    visual = np.nonzero(np.asarray(ids) >= tok.visual_offset)[0]
    if len(visual) != VIEW * VIEW * (1 + len(steps)):
        raise ValueError('an explore walk must hold one code per slot of each view')
    weights = np.array(weights, copy=True)
    for k, (text, _) in enumerate(steps):
        slots = visual[VIEW * VIEW * (k + 1):VIEW * VIEW * (k + 2)]
        weights[slots[new_in_view(text).ravel()]] = 0.0
    return ids, weights, prompt_len


def new_in_view(text):
    """[VIEW, VIEW] mask of the slots a move brings into view (the rest were in the previous view)."""
    _, dr, dc = next(m for m in MOVES if m[0] == text)
    mask = np.zeros((VIEW, VIEW), bool)
    if dr:
        mask[slice(VIEW - dr, None) if dr > 0 else slice(None, -dr), :] = True
    if dc:
        mask[:, slice(VIEW - dc, None) if dc > 0 else slice(None, -dc)] = True
    return mask


def build_worlds(count, tok, grids, observed, heldout, seed):
    rng = np.random.default_rng(seed)
    uniform = np.asarray(sorted(grids.code.values()), np.int64)
    held = {f.tobytes() for f in heldout}
    added, skipped, moves = Added(), 0, {m[0]: 0 for m in MOVES}
    while len(added.ids) < count:
        first, steps = walk(rng, random_world(rng, observed, uniform))
        if any(w.tobytes() in held for w in [first] + [s[1] for s in steps]):
            skipped += 1
            continue
        for text, _ in steps:
            moves[text] += 1
        added.add(example_sequence(first, steps, tok), f'worlds-{len(added.ids):06d}', 'worlds', len(steps))
    return added, skipped, moves


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--tokens', default=paths.data('tokens-cells'))
    ap.add_argument('--out', default=paths.data('tokens-worlds'))
    ap.add_argument('--count', type=int, default=10000)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    # explore's world repeats colours, so every slot content the grammar allows can occur
    grids = Grids(codebook, [(b, s) for b, s in grammar_cells() if b or s])
    train_frames = export_codes(grids, args.data, 'train')
    observed = np.concatenate([f[f != EMPTY_CODE] for f in train_frames])
    check_against_tokens(args.tokens, train_frames, tok)
    added, skipped, moves = build_worlds(args.count, tok, grids, observed, export_codes(grids, args.data, 'heldout'), args.seed)
    z = dict(np.load(os.path.join(args.tokens, 'train.npz')))
    out = added.merged_with(z)
    stats = write_token_folder(args.tokens, args.out, out, {'worlds': len(added.ids)}, 'worlds',
                               {'count': args.count, 'tokens': int(sum(added.lens)), 'moves': moves, 'skippedHeldOut': skipped})
    print(json.dumps(stats['worlds'] | {'trainExamples': int(len(out['task']))}))


def check_against_tokens(tokens_dir, frames, tok):
    """The layouts' token-space grids are the codes the tokenizer gave the rendered frames: every grid built
    here occurs as a run of visual ids in the tokenized explore examples."""
    z = np.load(os.path.join(tokens_dir, 'train.npz'))
    first = int(np.nonzero(z['task'] == 5)[0][0])
    seq = z['ids'][z['offsets'][first]:z['offsets'][first + 1]]
    visual = seq[seq >= tok.visual_offset] - tok.visual_offset
    ex_frames = [f.ravel() for f in frames[:8]]
    joined = visual.tolist()
    if not any(joined[k:k + VIEW * VIEW] == f.tolist() for f in ex_frames for k in range(len(joined) - VIEW * VIEW + 1)):
        raise ValueError('the token-space grids differ from the tokenized explore frames')


if __name__ == '__main__':
    main()
