"""Where the toolchain's files live, defined once and resolved from this file (not the cwd).

The layout itself is defined in TypeScript (training/paths.ts, which the TypeScript scripts under
training/ use) and generated into shared_tables.json (`npx tsx training/sharedTables.ts`); this module
only resolves it against the repository root. Every script's argparse defaults come from here, so
`python -m training.nano.train` behaves the same from any directory, and moving the data folder is a
one-line change.
"""
import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

with open(os.path.join(os.path.dirname(__file__), 'shared_tables.json')) as _f:
    LAYOUT = json.load(_f)['paths']  # repo-relative, '/'-separated


def repo(*parts):
    """A path under the repository root."""
    return os.path.join(ROOT, *parts)


def _layout(key):
    return repo(*LAYOUT[key].split('/'))


DATA = _layout('data')
EXPORT = _layout('export')
VISION = _layout('vision')
RANKS = _layout('ranks')
TOKENS = _layout('tokens')
DRILL = _layout('drill')
DECODER = _layout('decoder')
RUNS = _layout('runs')
CKPT = _layout('ckpt')
EVAL = _layout('eval')
RECIPE = _layout('recipe')
MODEL = _layout('model')


def data(*parts):
    """A path under training/data."""
    return os.path.join(DATA, *parts)
