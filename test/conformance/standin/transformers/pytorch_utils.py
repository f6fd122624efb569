"""Layer-norm registry (the official file appends its RMSNorm) and the torch version flag."""
import torch
from torch import nn


def _version_at_least(major: int, minor: int) -> bool:
    parts = torch.__version__.split("+")[0].split(".")
    return (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) >= (major, minor)


ALL_LAYERNORM_LAYERS = [nn.LayerNorm]
is_torch_greater_or_equal_than_1_13 = _version_at_least(1, 13)
