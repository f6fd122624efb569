"""Balanced cells: t2i, describe and x2i on synthetic scenes in which every slot content is equally common.

The vision tokenizer gives each slot one code for its whole content (bowl, then the stack bottom-up),
so a model must learn one code per combination. In the exported scenes the 627 combinations the world
allows (distinct block colours, at most 3 per stack) are very unequal: a bowl holding three blocks is
one of 360 codes that are scored image targets a median 16 times each, and those are the slots t2i draws
wrong and x2i fails even to copy. Here every slot content is drawn uniformly from the combinations still
possible in its scene, and the scenes are built directly in token space (one code per slot, code 0 for
the empty table, exactly as the tokenizer encodes a rendered frame).

Scenes that equal a held-out t2i or x2i layout are skipped, so held-out figures stay held out.
"""
import argparse
import json
import os

import numpy as np

from .augment import Added, EMPTY_CODE, describe, write_token_folder
from .dataset import export_dirs, load_examples
from .sequences import build
from .tokenizer import NanoTokenizer
from .vision import BOWLS, PALETTE, cell_codes, grammar_cells
from . import paths

BLOCKS = tuple(PALETTE)
SIZE = 8


def world_cells():
    """Every slot content one scene can hold: a bowl or none, and a stack of up to 3 distinct colours."""
    return [(bowl, stack) for bowl, stack in grammar_cells() if (bowl or stack) and len(set(stack)) == len(stack)]


def colour_masks(cells):
    """One bit per block colour and per bowl colour a cell uses: two cells fit one scene when their masks are disjoint."""
    bit = {c: 1 << k for k, c in enumerate(BLOCKS + tuple(f'bowl:{b}' for b in BOWLS))}
    return np.asarray([sum(bit[c] for c in s) + (bit[f'bowl:{b}'] if b else 0) for b, s in cells], np.int64)


def random_scene(rng, cells, masks, max_cells, min_cells=1, distinct=True):
    """A layout whose slot contents are uniform over the cells still possible, at random slots.
    With `distinct`, no colour appears in two slots (as in the exported t2i/x2i scenes, whose edits name
    blocks by colour); without it only each slot's own stack has distinct colours (as in explore's world)."""
    layout = [[None] * SIZE for _ in range(SIZE)]
    used, slots = 0, rng.permutation(SIZE * SIZE)
    for k in range(int(rng.integers(min_cells, max_cells + 1))):
        fits = np.nonzero((masks & used) == 0)[0] if distinct else np.arange(len(cells))
        if not len(fits):
            break
        j = int(rng.choice(fits))
        used |= int(masks[j])
        bowl, stack = cells[j]
        layout[slots[k] // SIZE][slots[k] % SIZE] = {'bowl': bowl, 'stack': list(stack)}
    return layout


def describe_scene(layout):
    """Python twin of sim/tasks/describeScene.ts."""
    parts = ['a table seen from above.']
    for r, row in enumerate(layout):
        for c, cell in enumerate(row):
            if cell:
                parts.append(f'row {r} column {c}: {describe_cell(cell)}.')
    return ' '.join(parts)


def describe_cell(cell):
    blocks = ' under '.join(f'{"an" if b[0] in "aeiou" else "a"} {b} block' for b in cell['stack'])
    if not cell['bowl']:
        return blocks
    return f'a {cell["bowl"]} bowl holding {blocks}' if blocks else f'a {cell["bowl"]} bowl'


def random_edit(rng, layout):
    """Python twin of randomEdit in sim/tasks/taskExamples.ts: (instruction, edited layout) or None."""
    slots = [(r, c) for r in range(SIZE) for c in range(SIZE)]
    empty = [s for s in slots if not layout[s[0]][s[1]]]
    tops = [s for s in slots if layout[s[0]][s[1]] and layout[s[0]][s[1]]['stack']]
    present = {b for row in layout for cell in row if cell for b in cell['stack']}
    absent = [b for b in BLOCKS if b not in present]
    nxt = [[dict(cell, stack=list(cell['stack'])) if cell else None for cell in row] for row in layout]
    kind = ('add', 'add-bowl', 'remove', 'move', 'recolour')[int(rng.integers(5))]
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    if kind == 'add' and absent and empty:
        colour, (r, c) = pick(absent), pick(empty)
        nxt[r][c] = {'bowl': None, 'stack': [colour]}
        return f'add a {colour} block at row {r} column {c}', nxt
    if kind == 'add-bowl' and empty:
        missing = [b for b in BOWLS if b not in {cell['bowl'] for row in layout for cell in row if cell}]
        if not missing:
            return None
        colour, (r, c) = pick(missing), pick(empty)
        nxt[r][c] = {'bowl': colour, 'stack': []}
        return f'add a {colour} bowl at row {r} column {c}', nxt
    if not tops:
        return None
    fr, fc = pick(tops)
    colour = nxt[fr][fc]['stack'][-1]
    if kind == 'remove':
        nxt[fr][fc]['stack'].pop()
        nxt[fr][fc] = normalised(nxt[fr][fc])
        return f'remove the {colour} block', nxt
    if kind == 'move':
        tr, tc = pick([s for s in slots if not (layout[s[0]][s[1]] and layout[s[0]][s[1]]['stack'])])
        nxt[fr][fc]['stack'].pop()
        nxt[fr][fc] = normalised(nxt[fr][fc])
        nxt[tr][tc] = nxt[tr][tc] or {'bowl': None, 'stack': []}
        nxt[tr][tc]['stack'].append(colour)
        return f'move the {colour} block to row {tr} column {tc}', nxt
    if not absent:
        return None
    recolour = pick(absent)
    nxt[fr][fc]['stack'][-1] = recolour
    return f'recolour the {colour} block {recolour}', nxt


def normalised(cell):
    return cell if cell['bowl'] or cell['stack'] else None


def layout_key(layout):
    return json.dumps([[cell and [cell['bowl'], cell['stack']] for cell in row] for row in layout])


def heldout_layouts(data_dir):
    keys = set()
    for d in export_dirs(data_dir, 'heldout'):
        for ex in load_examples(d):
            if ex['task'] in ('t2i', 'x2i'):
                keys.update(layout_key(lay) for lay in ex['layouts'].values())
    return keys


class Grids:
    """Layouts → code grids, through the tokenizer's own codebook, for the slot contents in `cells`
    (default: those one scene can hold)."""

    def __init__(self, codebook, cells=None):
        cells = [(b, tuple(s)) for b, s in (cells or world_cells())]
        self.code = dict(zip(cells, cell_codes(codebook, cells).tolist()))

    def __call__(self, layout):
        return np.asarray([[self.code[(cell['bowl'], tuple(cell['stack']))] if cell else EMPTY_CODE for cell in row]
                           for row in layout], np.int64)


def check_against_export(grids, data_dir, vision_dir, per_task=300):
    """The grids built here equal the tokenizer's codes of the exporter's rendered frames."""
    from .prepare import codes_lookup
    codes_of = codes_lookup(vision_dir, data_dir)
    for task in ('t2i', 'x2i'):
        for ex in load_examples(os.path.join(data_dir, f'{task}-train'))[:per_task]:
            for path, layout in ex['layouts'].items():
                if not np.array_equal(grids(layout), codes_of(os.path.join(ex['dir'], path))):
                    raise ValueError(f'{ex["id"]} {path}: the token-space grid differs from the encoded frame')


def build_cells(count, tok, grids, skip, seed, max_cells, dense_cells=0):
    """`count` examples of each form (t2i, describe, x2i), each on its own synthetic scene. With
    `dense_cells`, t2i and describe scenes hold 3..dense_cells slots whose colours may repeat between
    slots: more rare slot contents per token."""
    cells = world_cells()
    masks = colour_masks(cells)
    rng = np.random.default_rng(seed)
    added, skipped = Added(), 0
    for k in range(count):
        for form in FORMS:
            scene, edit, tries = draw_scene(rng, form, cells, masks, max_cells, dense_cells, skip)
            skipped += tries
            seq, output_images = form_sequence(form, scene, edit, grids, tok)
            added.add(seq, f'cells-{form}-{k:06d}', 'cells', output_images)
    return added, skipped


FORMS = ('t2i', 'describe', 'x2i')


def draw_scene(rng, form, cells, masks, max_cells, dense_cells, skip):
    """(scene, x2i edit or None, scenes skipped as equal to a held-out layout)."""
    skipped = 0
    while True:
        if dense_cells and form != 'x2i':
            scene = random_scene(rng, cells, masks, dense_cells, 3, distinct=False)
        else:
            scene = random_scene(rng, cells, masks, max_cells)
        edit = random_edit(rng, scene) if form == 'x2i' else None
        if form == 'x2i' and not edit:
            continue
        if layout_key(scene) in skip or (edit and layout_key(edit[1]) in skip):
            skipped += 1
            continue
        return scene, edit, skipped


def form_sequence(form, scene, edit, grids, tok):
    """The training sequence of one form on one scene, and its number of output images."""
    frames = {'in': grids(scene), 'out': grids(edit[1] if edit else scene)}
    out = [{'type': 'image', 'path': 'out'}]
    if form == 'describe':
        return describe({'dir': '', 'output': out}, describe_scene(scene), frames['out'], tok), 0
    if form == 't2i':
        ex = {'task': 't2i', 'instruction': describe_scene(scene), 'dir': '', 'inputs': [], 'output': out}
    else:
        ex = {'task': 'x2i', 'instruction': edit[0], 'dir': '', 'inputs': ['in'], 'output': out}
    return build(ex, frames.__getitem__, tok), 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--vision', default=paths.VISION)
    ap.add_argument('--ranks', default=paths.RANKS)
    ap.add_argument('--tokens', default=paths.data('tokens-aug'))
    ap.add_argument('--out', default=paths.data('tokens-cells'))
    ap.add_argument('--count', type=int, default=20000, help='examples of each form (t2i, describe, x2i)')
    ap.add_argument('--max-cells', type=int, default=5)
    ap.add_argument('--dense-cells', type=int, default=8,
                    help='t2i/describe scenes hold 3..N slots whose colours may repeat between slots (0: distinct colours, 1..max-cells slots)')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    codebook = np.load(os.path.join(args.vision, 'codebook.npy'))
    tok = NanoTokenizer.load(args.ranks, codebook.shape[0])
    z = dict(np.load(os.path.join(args.tokens, 'train.npz')))
    grids = Grids(codebook)
    check_against_export(grids, args.data, args.vision)
    added, skipped = build_cells(args.count, tok, grids, heldout_layouts(args.data), args.seed, args.max_cells, args.dense_cells)
    out = added.merged_with(z)
    stats = write_token_folder(args.tokens, args.out, out, {'cells': len(added.ids)}, 'cells',
                               {'perForm': args.count, 'maxCells': args.max_cells, 'denseCells': args.dense_cells,
                                'worldCells': len(world_cells()), 'tokens': int(sum(added.lens)), 'skippedHeldOut': skipped})
    print(json.dumps(stats['cells'] | {'trainExamples': int(len(out['task']))}))


if __name__ == '__main__':
    main()
