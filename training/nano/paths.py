"""Where the toolchain's files live, defined once and resolved from this file (not the cwd).

Every script's argparse defaults come from here, so `python -m training.nano.train` behaves the same
from any directory, and moving the data folder is a one-line change.
"""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def repo(*parts):
    """A path under the repository root."""
    return os.path.join(ROOT, *parts)


DATA = repo('training', 'data')
RUNS = repo('training', 'runs', 'nano')
EXPORT = os.path.join(DATA, 'export')
VISION = os.path.join(DATA, 'vision')
RANKS = os.path.join(DATA, 'nano.tiktoken')
TOKENS = os.path.join(DATA, 'tokens')
CKPT = os.path.join(RUNS, 'ckpt.pt')


def data(*parts):
    """A path under training/data."""
    return os.path.join(DATA, *parts)
