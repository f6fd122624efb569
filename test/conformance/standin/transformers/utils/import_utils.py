"""Availability probes."""


def is_torch_fx_available() -> bool:
    # torch >= 1.10 ships torch.fx; the official file then wraps its mask helper as an FX leaf (harmless in eager mode).
    try:
        import torch.fx  # noqa: F401
    except ImportError:
        return False
    return True
