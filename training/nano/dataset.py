"""Reads `emu sim export` folders (format: sim/EXPORT.md) laid out as DATA/<task>-<split>/."""
import json
import os

import numpy as np
from PIL import Image

TASKS = ('vla', 't2i', 'x2i', 'story', 'howto', 'explore')
# Training-only tasks, built in token space by augment.py; their ids follow TASKS in the task column.
# describe: a frame in, its "row R column C: ..." caption out. It teaches image tokens where they are,
# which t2i needs to draw "row R column C" at the right slot.
# cells: t2i, describe and x2i on synthetic scenes in which every slot content the world allows is
# equally common (cells.py): a slot's code names a whole bowl-and-stack, and the rare ones were drawn wrong.
# worlds: explore walks over fresh synthetic worlds (worlds.py), for copying the view that stays in sight.
# drill: stories whose actions are mostly moves next to an object (drill.py, from training/storyDrill.ts).
AUX_TASKS = ('describe', 'cells', 'worlds', 'drill', 'replay')
TRAIN_TASKS = TASKS + AUX_TASKS


def export_dirs(data_dir, split):
    return [os.path.join(data_dir, f'{t}-{split}') for t in TASKS if os.path.isfile(os.path.join(data_dir, f'{t}-{split}', 'examples.jsonl'))]


def load_examples(d):
    out = []
    with open(os.path.join(d, 'examples.jsonl')) as f:
        for line in f:
            if not line.strip():
                continue
            ex = json.loads(line)
            ex['dir'] = d
            out.append(ex)
    return out


def frame_paths(ex):
    paths = list(ex['inputs']) + [o['path'] for o in ex['output'] if o['type'] == 'image']
    return [os.path.join(ex['dir'], p) for p in paths]


def load_frame(path):
    """uint8 [H, W, 3]."""
    with Image.open(path) as im:
        return np.asarray(im.convert('RGB'), dtype=np.uint8)
