#!/usr/bin/env python3
"""Writes a tiny random IBQ vision tokenizer in the released layout: VQ_DIR/config.yaml + model.ckpt.

The model is the OFFICIAL `IBQ` class (imported from the user's Emu3.5 checkout, never copied),
built from a small ddconfig with a fixed torch seed, so the converter and the reference run the
real code paths (GroupNorm, attention blocks at one level, asymmetric-pad downsample, nearest
upsample) on something that converts and runs in seconds.

config.yaml holds the constructor's arguments at the top level, because that is how the official
loader (`vision_tokenizer.build_vision_tokenizer`) builds it: `IBQ(**OmegaConf.load(config.yaml))`.
model.ckpt is `torch.save({"state_dict": ...})`, which the same loader unwraps.

Exact ties: codebook rows 5..8 and 60..63 are the same axis-aligned vectors (±6 on one channel,
zeros elsewhere), so z·e is one product plus exact zeros: equal in any summation order, in torch's
GEMM and in ONNX Runtime's alike. Those rows win often enough that the test sees whether the exported
argmax breaks ties like the official `max(dim=1)` (first index: 5..8, never 60..63). A plain copy of
a random row would not do: torch's einsum rounds identical columns differently (up to 4.8e-7 here),
so the official code itself picks the later copy at about one position in ten. `--no-ties` leaves the
codebook as initialised.

usage: make_ibq_checkpoint.py --emu35-src DIR --out VQ_DIR [--seed 0] [--no-ties]
(einops must be importable: PYTHONPATH=/work/shared/python)
"""
import argparse
import json
import os
import sys
import types


# (first row, its exact twin, channel, value)
TIES = [(5, 60, 0, 6.0), (6, 61, 1, -6.0), (7, 62, 2, 6.0), (8, 63, 3, -6.0)]


def import_official(emu35_src):
    src = os.path.join(emu35_src, "src")
    sys.path.insert(0, src)
    try:
        import transformers  # noqa: F401
    except ImportError:
        # vision_tokenizer/__init__.py imports transformers.AutoModel only for hub checkpoints; the
        # local config.yaml + model.ckpt path never calls it.
        stub = types.ModuleType("transformers")
        stub.AutoModel = None
        sys.modules["transformers"] = stub
    from vision_tokenizer.ibq import IBQ  # official class
    return IBQ


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emu35-src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ties", action="store_true")
    args = ap.parse_args()

    import torch
    import yaml

    IBQ = import_official(args.emu35_src)
    config = {
        "ddconfig": {
            "double_z": False,
            "z_channels": 8,
            "resolution": 32,
            "in_channels": 3,
            "out_ch": 3,
            "ch": 32,
            "ch_mult": [1, 2],
            "num_res_blocks": 1,
            "attn_resolutions": [16],
            "dropout": 0.0,
        },
        "n_embed": 64,
        "embed_dim": 8,
        "beta": 0.25,
        "use_entropy_loss": False,
        "cosine_similarity": False,
    }
    torch.manual_seed(args.seed)
    model = IBQ(**config).eval()
    state = model.state_dict()
    ties = [] if args.no_ties else TIES
    weight = state["quantize.embedding.weight"]
    for lo, hi, axis, value in ties:
        row = torch.zeros(weight.shape[1])
        row[axis] = value
        weight[lo] = row
        weight[hi] = row
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.yaml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    torch.save({"state_dict": state}, os.path.join(args.out, "model.ckpt"))
    print(json.dumps({"ok": True, "params": sum(v.numel() for v in state.values()), "ties": [[lo, hi] for lo, hi, _, _ in ties]}))


if __name__ == "__main__":
    main()
