"""A small stand-in for `emu sim export` (same format, simpler world) to test the toolchain offline."""
import argparse
import json
import os
import random

import numpy as np
from PIL import Image
from . import paths

COLOURS = {'red': (220, 40, 40), 'green': (40, 170, 60), 'blue': (40, 80, 220),
           'yellow': (240, 220, 40), 'purple': (140, 60, 180), 'orange': (245, 140, 20)}
TABLE = (200, 190, 175)


def render(layout):
    img = np.zeros((128, 128, 3), np.uint8)
    img[:] = TABLE
    for r in range(8):
        for c in range(8):
            cell = layout[r][c]
            if cell is None:
                continue
            y, x = 16 * r, 16 * c
            if cell['bowl']:
                img[y + 1:y + 15, x + 1:x + 15] = COLOURS[cell['bowl']]
                img[y + 3:y + 13, x + 3:x + 13] = TABLE
            for lvl, b in enumerate(cell['stack']):
                a = 3 + 2 * lvl
                img[y + a:y + 16 - a, x + a:x + 16 - a] = COLOURS[b]
    return img


def scene(rng):
    lay = [[None] * 8 for _ in range(8)]
    cells = rng.sample(range(64), 6)
    blocks = rng.sample(list(COLOURS), 3)
    bowls = rng.sample(['red', 'green', 'blue'], 2)
    for k, b in zip(cells, blocks):
        lay[k // 8][k % 8] = {'bowl': None, 'stack': [b]}
    for k, b in zip(cells[3:], bowls):
        lay[k // 8][k % 8] = {'bowl': b, 'stack': []}
    return lay


def find(lay, pred):
    return [(r, c) for r in range(8) for c in range(8) if lay[r][c] is not None and pred(lay[r][c])]


def put(lay, block, bowl):
    lay = json.loads(json.dumps(lay))
    (r, c), = find(lay, lambda x: block in x['stack'])
    (r2, c2), = find(lay, lambda x: x['bowl'] == bowl)
    lay[r][c] = None
    lay[r2][c2]['stack'].append(block)
    return lay


def describe(lay):
    parts = []
    for r, c in find(lay, lambda x: True):
        x = lay[r][c]
        what = f"a {x['bowl']} bowl" if x['bowl'] else f"a {x['stack'][0]} block"
        parts.append(f' row {r} column {c}: {what}.')
    return 'a table seen from above.' + ''.join(parts)


def example(task, split, seed, out):
    rng = random.Random(f'{task}-{split}-{seed}')
    lay = scene(rng)
    eid = f'{task}-{split}-{seed:06d}'
    frames, layouts = [], {}

    def save(l, name):
        p = f'frames/{eid}-{name}.png'
        Image.fromarray(render(l)).save(os.path.join(out, p))
        layouts[p] = l
        return p

    blocks = [x['stack'][0] for x in sum(([lay[r][c]] for r, c in find(lay, lambda x: x['stack'])), [])]
    bowls = [lay[r][c]['bowl'] for r, c in find(lay, lambda x: x['bowl'])]
    steps = [(b, w) for b, w in zip(blocks, bowls)][:rng.randint(1, 2)]
    inputs, output = [], []
    instr = 'explore the table'
    if task in ('vla', 'howto', 'story'):
        instr = ' and '.join(f'put the {b} block in the {w} bowl' for b, w in steps)
        if task == 'howto':
            instr = f'how do I {instr}?'
        if task == 'story':
            instr = 'tell a story of the robot tidying the table'
            output += [{'type': 'text', 'text': describe(lay)}, {'type': 'image', 'path': save(lay, 'out9')}]
        else:
            inputs.append(save(lay, 'in0'))
        cur = lay
        for i, (b, w) in enumerate(steps):
            cur = put(cur, b, w)
            text = {'vla': f'put the {b} block in the {w} bowl', 'howto': f'step {i + 1}: put the {b} block in the {w} bowl',
                    'story': f'the robot put the {b} block in the {w} bowl.'}[task]
            output += [{'type': 'text', 'text': text}, {'type': 'image', 'path': save(cur, f'out{i}')}]
    elif task == 't2i':
        instr = describe(lay)
        output.append({'type': 'image', 'path': save(lay, 'out0')})
    elif task == 'x2i':
        b, w = steps[0]
        instr = f'put the {b} block in the {w} bowl'
        inputs.append(save(lay, 'in0'))
        output.append({'type': 'image', 'path': save(put(lay, b, w), 'out0')})
    else:
        inputs.append(save(lay, 'in0'))
        output += [{'type': 'text', 'text': 'look left'}, {'type': 'image', 'path': save(lay, 'out0')}]
    return {'id': eid, 'task': task, 'split': split, 'seed': seed, 'suite': None, 'instruction': instr,
            'inputs': inputs, 'output': output, 'layouts': layouts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=paths.data('fake'))
    ap.add_argument('--count', type=int, default=200)
    args = ap.parse_args()
    for task in ('vla', 't2i', 'x2i', 'story', 'howto', 'explore'):
        for split, n in (('train', args.count), ('heldout', max(4, args.count // 10))):
            d = os.path.join(args.out, f'{task}-{split}')
            os.makedirs(os.path.join(d, 'frames'), exist_ok=True)
            with open(os.path.join(d, 'examples.jsonl'), 'w') as f:
                for i in range(n):
                    f.write(json.dumps(example(task, split, i, d)) + '\n')
            with open(os.path.join(d, 'meta.json'), 'w') as f:
                json.dump({'format': 'emu-sim-export', 'version': 1, 'task': task, 'split': split, 'count': n,
                           'seed': 0, 'frameSize': [128, 128], 'grid': [8, 8]}, f)


if __name__ == '__main__':
    main()
