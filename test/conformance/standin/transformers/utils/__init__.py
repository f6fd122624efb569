"""Docstring decorators (no-ops beyond prepending text), availability probes and `logging`."""
from . import logging  # noqa: F401  (the official files import it from here)
from .import_utils import is_torch_fx_available  # noqa: F401


def add_start_docstrings(*docstr):
    def decorator(fn):
        fn.__doc__ = "".join(docstr) + (fn.__doc__ or "")
        return fn

    return decorator


def add_start_docstrings_to_model_forward(*docstr):
    return add_start_docstrings(*docstr)


def replace_return_docstrings(output_type=None, config_class=None):
    return lambda fn: fn


def is_flash_attn_2_available() -> bool:
    # Never: the reference is the eager attention, and flash_attn is not installed.
    return False


def is_flash_attn_greater_or_equal_2_10() -> bool:
    return False
