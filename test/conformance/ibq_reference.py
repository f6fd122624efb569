#!/usr/bin/env python3
"""Runs the OFFICIAL Emu3.5 IBQ tokenizer on an image: the reference the exported graphs are held to.

Loads VQ_DIR with upstream's own `build_vision_tokenizer("ibq", VQ_DIR, device="cpu")`, prepares the
image as upstream's `build_image` does (`smart_resize` from src/utils/input_utils.py, then
`np.array(image) / 127.5 - 1.0`, HWC → CHW), takes the codes from `vq_model.encode(...)[2][-1]`, and
decodes those codes with `vq_model.decode_code(codes[None], shape=(1, h, w, embed_dim))`, as upstream's
`decode_image` does. Two upstream constants do not fit a non-Emu3.5-sized model and are read from the
model instead: `build_image`'s `view(h // 16, w // 16)` uses the real downsample and `decode_image`'s
`shape=(1, h, w, 256)` the real embed dim.

Writes into OUT:
  codes.json     {"rows", "cols", "codes"}          (row-major)
  pixels.f32     decode_code output, float32 [3, rows·f, cols·f] (before any clamp)
  image_u8.bin   decode_image's uint8 HWC: ((x + 1) * 127.5).clamp(0, 255).astype(uint8)
  meta.json      sizes, downsample, embed dim

usage: ibq_reference.py --emu35-src DIR --vq-dir VQ_DIR --image PNG --area N --out OUT
(einops must be importable: PYTHONPATH=/work/shared/python)
"""
import argparse
import importlib.util
import json
import os
import sys
import types


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emu35-src", required=True)
    ap.add_argument("--vq-dir", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--area", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    src = os.path.join(args.emu35_src, "src")
    sys.path.insert(0, src)
    try:
        import transformers  # noqa: F401
    except ImportError:
        # vision_tokenizer/__init__.py imports transformers.AutoModel, used only for hub checkpoints.
        stub = types.ModuleType("transformers")
        stub.AutoModel = None
        sys.modules["transformers"] = stub
    from vision_tokenizer import build_vision_tokenizer

    spec = importlib.util.spec_from_file_location("emu35_input_utils", os.path.join(src, "utils", "input_utils.py"))
    input_utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(input_utils)

    vq_model = build_vision_tokenizer("ibq", args.vq_dir, device="cpu")
    f = 2 ** (len(vq_model.encoder.down) - 1)
    embed_dim = vq_model.quantize.e_dim

    image = Image.open(args.image).convert("RGB")
    image = input_utils.smart_resize(image, args.area)
    w, h = image.size
    with torch.no_grad():
        x = torch.tensor((np.array(image) / 127.5 - 1.0)).to("cpu", torch.float32).permute(2, 0, 1)
        _, _, token = vq_model.encode(x[None])
        codes = token[-1].view(h // f, w // f)
        pixels = vq_model.decode_code(codes[None], shape=(1, h // f, w // f, embed_dim)).float()
    rows, cols = codes.shape
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "codes.json"), "w") as fh:
        json.dump({"rows": int(rows), "cols": int(cols), "codes": [int(c) for c in codes.flatten()]}, fh)
    pixels[0].numpy().astype("<f4").tofile(os.path.join(args.out, "pixels.f32"))
    hwc = pixels[0].permute(1, 2, 0)
    ((hwc + 1.0) * 127.5).clamp(0, 255).numpy().astype(np.uint8).tofile(os.path.join(args.out, "image_u8.bin"))
    meta = {"width": w, "height": h, "rows": int(rows), "cols": int(cols), "downsample": f, "embedDim": embed_dim}
    with open(os.path.join(args.out, "meta.json"), "w") as fh:
        json.dump(meta, fh)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
