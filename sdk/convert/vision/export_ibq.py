#!/usr/bin/env python3
"""Exports the Emu3.5 IBQ vision tokenizer (released `config.yaml` + `model.ckpt`) to the engine's two
fp32 ONNX graphs. Run by `sdk/convert/convertVision.ts`; usable by hand:

  PYTHONPATH=/path/with/einops /usr/bin/python3 export_ibq.py --vq-dir VQ_DIR --emu35-src EMU35 \
      --encoder-out enc.onnx --decoder-out dec.onnx

Graphs (the contract of `VisionSpecSchema` / `VisionTokenizer`):
  encoder  pixel_values float32 [B,3,H,W] in [-1,1] → codes int64 [B,H/f,W/f]
           Encoder → quant_conv → IndexPropagationQuantize's eval-mode code choice
  decoder  codes int64 [B,h,w] → pixel_values float32 [B,3,h·f,w·f] (≈[-1,1], unclamped)
           embedding lookup → NCHW → post_quant_conv → Decoder
B, H, W are dynamic; f = 2**(len(ch_mult)-1).

The model comes from the OFFICIAL classes in the user's checkout (`EMU35/src/vision_tokenizer`),
loaded the way upstream's `build_vision_tokenizer` does it: `IBQ(**OmegaConf.load(config.yaml))`,
`torch.load(model.ckpt)`, unwrap `["state_dict"]`, strict `load_state_dict`, `eval()`. Nothing of the
official code is copied here; the wrappers below only route tensors between its modules, and the
code choice repeats quantize.py's own operations in its order: logits = einsum(z, codebook) (a dot
product, NOT an L2 distance), softmax over the codebook axis, then max(dim=1)'s index, which takes
the first index on ties, as ONNX ArgMax (select_last_index=0) does.

stdout carries one JSON object per line: {"event":"progress",...} while working, then either
{"event":"result",...} (exit 0) or {"event":"error","kind":...,"message":...} (exit 2). Everything
else (warnings, tracebacks) goes to stderr.
"""
import argparse
import hashlib
import importlib
import json
import os
import sys
import time
import traceback
import types

OPSET = 17


class ExportError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def progress(stage, **extra):
    emit({"event": "progress", "stage": stage, **extra})


# ---------------------------------------------------------------------------------------------
# dependencies and the official code


def import_deps():
    missing = []
    mods = {}
    for name in ("torch", "numpy", "onnx", "omegaconf"):
        try:
            mods[name] = importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 - any import failure means "not usable"
            missing.append(f"{name} ({type(err).__name__}: {err})")
    if missing:
        raise ExportError(
            "deps",
            f"{sys.executable} cannot import {', '.join(missing)}; install python3-torch, python3-onnx, "
            "python3-omegaconf (training/setup.sh does)",
        )
    return mods


OFFICIAL_FILES = (
    "vision_tokenizer/ibq.py",
    "vision_tokenizer/modules/diffusionmodules/model.py",
    "vision_tokenizer/modules/vqvae/quantize.py",
)


def official_src_dir(emu35_src):
    """The folder that holds `vision_tokenizer/`: EMU35/src (a checkout) or EMU35 itself (its src/)."""
    for cand in (os.path.join(emu35_src, "src"), emu35_src):
        if all(os.path.isfile(os.path.join(cand, f)) for f in OFFICIAL_FILES):
            return cand
    raise ExportError(
        "emu35_src",
        f"{emu35_src} is not an Emu3.5 checkout: expected src/{OFFICIAL_FILES[0]} and its modules "
        "(clone github.com/baaivision/Emu3.5 and pass its root)",
    )


def import_official_ibq(src):
    """`IBQ` from src/vision_tokenizer/ibq.py without running the package's __init__.py, which
    imports transformers (only needed for hub checkpoints, not for config.yaml + model.ckpt)."""
    pkg_name = "_emu35_vision_tokenizer"
    pkg = types.ModuleType(pkg_name)
    pkg.__path__ = [os.path.join(src, "vision_tokenizer")]
    pkg.__package__ = pkg_name
    sys.modules[pkg_name] = pkg
    try:
        ibq = importlib.import_module(f"{pkg_name}.ibq")
    except ModuleNotFoundError as err:
        if err.name == "einops":
            raise ExportError(
                "deps",
                "the official quantizer imports einops, which this Python lacks: pass --python-path DIR "
                "(a folder holding einops/, e.g. /work/shared/python) or add it to PYTHONPATH",
            ) from err
        raise ExportError("emu35_src", f"cannot import the official IBQ from {src}: {err}") from err
    except Exception as err:  # noqa: BLE001
        raise ExportError("emu35_src", f"cannot import the official IBQ from {src}: {type(err).__name__}: {err}") from err
    return ibq.IBQ


# ---------------------------------------------------------------------------------------------
# config.yaml


def as_int(d, key, where, positive=True):
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or (positive and v <= 0):
        raise ExportError("config", f"{where}.{key} must be a positive integer, got {v!r}")
    return v


def load_config(path, OmegaConf):
    """The IBQ constructor's kwargs. Official layout: top-level keys (`IBQ(**cfg)`); a taming-style
    file with them under model.params is accepted too. Returns (kwargs, layout)."""
    try:
        raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as err:  # noqa: BLE001
        raise ExportError("config", f"{path} is not valid YAML: {type(err).__name__}: {err}") from err
    if not isinstance(raw, dict):
        raise ExportError("config", f"{path} must be a mapping of the IBQ constructor's arguments, got {type(raw).__name__}")
    layout = "top-level"
    cfg = raw
    if "ddconfig" not in cfg:
        model = raw.get("model")
        params = model.get("params") if isinstance(model, dict) else None
        if isinstance(params, dict) and "ddconfig" in params:
            cfg, layout = params, "model.params"
        else:
            raise ExportError("config", f"{path} has no ddconfig (looked at the top level, as upstream's loader does, and under model.params); keys: {sorted(raw)}")
    dd = cfg["ddconfig"]
    if not isinstance(dd, dict):
        raise ExportError("config", f"{path}: ddconfig must be a mapping")
    for key in ("ch", "num_res_blocks", "resolution", "z_channels"):
        as_int(dd, key, "ddconfig")
    for key in ("in_channels", "out_ch"):
        if dd.get(key) != 3:
            raise ExportError("config", f"{path}: ddconfig.{key} is {dd.get(key)!r}; the engine's graphs carry RGB (3)")
    mult = dd.get("ch_mult")
    if not isinstance(mult, list) or not mult or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in mult):
        raise ExportError("config", f"{path}: ddconfig.ch_mult must be a non-empty list of positive integers, got {mult!r}")
    if not isinstance(dd.get("attn_resolutions"), list):
        raise ExportError("config", f"{path}: ddconfig.attn_resolutions must be a list, got {dd.get('attn_resolutions')!r}")
    if dd.get("double_z", True):
        # Encoder(double_z=True) emits 2·z_channels but quant_conv takes z_channels: the official model cannot run.
        raise ExportError("config", f"{path}: ddconfig.double_z is true (the Encoder's default), so the encoder emits 2·z_channels but quant_conv takes z_channels; IBQ needs double_z: false")
    as_int(cfg, "n_embed", "config")
    as_int(cfg, "embed_dim", "config")
    return cfg, layout


# ---------------------------------------------------------------------------------------------
# graphs


def build_wrappers(torch, model):
    nn = torch.nn
    F = torch.nn.functional
    quantize = model.quantize
    if getattr(quantize, "remap", None) is not None:
        raise ExportError("config", "the quantizer has a remap table; the exporter supports IBQ without remap (as released)")

    class EncoderGraph(nn.Module):
        """pixel_values [B,3,H,W] → codes [B,H/f,W/f]: IBQ.encode, then quantize.forward's eval-mode index."""

        def __init__(self):
            super().__init__()
            self.encoder = model.encoder
            self.quant_conv = model.quant_conv
            self.embedding = quantize.embedding
            self.l2_normalize = bool(getattr(quantize, "l2_normalize", False))

        def forward(self, pixel_values):
            z = self.quant_conv(self.encoder(pixel_values))
            embedding = self.embedding.weight
            if self.l2_normalize:
                z = F.normalize(z, dim=1)
                embedding = F.normalize(embedding, dim=1)
            logits = torch.einsum("b d h w, n d -> b n h w", z, embedding)
            soft_one_hot = F.softmax(logits, dim=1)
            return soft_one_hot.max(1)[1]  # [B,h,w] int64; first index on ties

    class DecoderGraph(nn.Module):
        """codes [B,h,w] → pixel_values [B,3,h·f,w·f]: get_codebook_entry (embedding → NCHW), IBQ.decode."""

        def __init__(self):
            super().__init__()
            self.embedding = quantize.embedding
            self.post_quant_conv = model.post_quant_conv
            self.decoder = model.decoder

        def forward(self, codes):
            z_q = self.embedding(codes).permute(0, 3, 1, 2).contiguous()
            return self.decoder(self.post_quant_conv(z_q))

    return EncoderGraph().eval(), DecoderGraph().eval()


def self_check(torch, model, enc, dec, f, embed_dim, use_entropy_loss):
    """The wrappers against the official forward passes on a random non-square input (eager torch)."""
    gen = torch.Generator().manual_seed(0)
    h, w = 2 * f, 3 * f
    x = torch.rand(1, 3, h, w, generator=gen) * 2 - 1
    quantize = model.quantize
    saved = quantize.use_entropy_loss
    # In eval mode quantize.forward with use_entropy_loss reads an unset quant_loss (UnboundLocalError);
    # the codes do not depend on the loss, so the check runs the official code without it.
    quantize.use_entropy_loss = False
    try:
        with torch.no_grad():
            _, _, info = model.encode(x)
            official_codes = info[-1].view(h // f, w // f)
            codes = enc(x)[0]
            official_pixels = model.decode_code(official_codes[None], shape=(1, h // f, w // f, embed_dim))
            pixels = dec(official_codes[None])
    finally:
        quantize.use_entropy_loss = saved
    if tuple(codes.shape) != (h // f, w // f):
        raise ExportError("selfcheck", f"encoder wrapper gave codes {tuple(codes.shape)} for {h}x{w}px, expected {(h // f, w // f)} (downsample {f})")
    mismatches = int((codes != official_codes).sum())
    diff = float((pixels - official_pixels).abs().max())
    if mismatches or diff > 0:
        raise ExportError("selfcheck", f"wrappers differ from the official IBQ: {mismatches} codes, max |Δpixel| {diff}")
    return {"size": [h, w], "codeMismatches": mismatches, "maxPixelDiff": diff, "entropyLossSkipped": bool(saved and use_entropy_loss)}


def export(torch, onnx, module, sample, path, in_name, out_name, in_axes, out_axes):
    with torch.no_grad():
        torch.onnx.export(
            module,
            (sample,),
            path,
            input_names=[in_name],
            output_names=[out_name],
            dynamic_axes={in_name: in_axes, out_name: out_axes},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    model = onnx.load(path)
    onnx.checker.check_model(model)

    def dims(v):
        return [d.dim_param if d.dim_param else d.dim_value for d in v.type.tensor_type.shape.dim]

    def dtype(v):
        return onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()

    io = {
        "inputs": [{"name": v.name, "dtype": dtype(v), "shape": dims(v)} for v in model.graph.input],
        "outputs": [{"name": v.name, "dtype": dtype(v), "shape": dims(v)} for v in model.graph.output],
    }
    return io


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(args):
    t0 = time.time()
    mods = import_deps()
    torch, onnx, OmegaConf = mods["torch"], mods["onnx"], mods["omegaconf"].OmegaConf
    src = official_src_dir(args.emu35_src)
    IBQ = import_official_ibq(src)

    cfg_path = os.path.join(args.vq_dir, args.config_file)
    ckpt_path = os.path.join(args.vq_dir, args.ckpt_file)
    for p, what in ((cfg_path, "config"), (ckpt_path, "checkpoint")):
        if not os.path.isfile(p):
            raise ExportError("vq_dir", f"{args.vq_dir} lacks {os.path.basename(p)} (a released IBQ folder holds {args.config_file} and {args.ckpt_file})")
    cfg, layout = load_config(cfg_path, OmegaConf)
    progress("config", layout=layout)

    try:
        model = IBQ(**cfg)
    except Exception as err:  # noqa: BLE001
        raise ExportError("config", f"{cfg_path}: the official IBQ rejects these arguments: {type(err).__name__}: {err}") from err
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu")
    except Exception as err:  # noqa: BLE001
        raise ExportError("checkpoint", f"cannot load {ckpt_path} with torch.load: {type(err).__name__}: {err}") from err
    wrapped = isinstance(ckpt, dict) and "state_dict" in ckpt
    if wrapped:
        ckpt = ckpt["state_dict"]
    if not isinstance(ckpt, dict):
        raise ExportError("checkpoint", f"{ckpt_path} holds a {type(ckpt).__name__}, not a state dict")
    try:
        model.load_state_dict(ckpt)  # strict, as upstream
    except Exception as err:  # noqa: BLE001
        raise ExportError("checkpoint", f"{ckpt_path} does not fit the IBQ built from {cfg_path}: {err}") from err
    model = model.float().eval()
    progress("loaded", seconds=round(time.time() - t0, 3))

    dd = cfg["ddconfig"]
    f = 2 ** (len(dd["ch_mult"]) - 1)
    n_embed, embed_dim = cfg["n_embed"], cfg["embed_dim"]
    if tuple(model.quantize.embedding.weight.shape) != (n_embed, embed_dim):
        raise ExportError("checkpoint", f"codebook is {tuple(model.quantize.embedding.weight.shape)}, config says ({n_embed}, {embed_dim})")
    enc, dec = build_wrappers(torch, model)
    check = self_check(torch, model, enc, dec, f, embed_dim, bool(cfg.get("use_entropy_loss", False)))
    progress("selfcheck", **check)

    names = json.loads(args.io_names)
    sample_h, sample_w = 4 * f, 3 * f  # non-square: a transposed axis shows up in the shapes
    x = torch.zeros(1, 3, sample_h, sample_w)
    t = time.time()
    enc_io = export(torch, onnx, enc, x, args.encoder_out, names["encoderInput"], names["encoderOutput"],
                    {0: "batch", 2: "height", 3: "width"}, {0: "batch", 1: "rows", 2: "cols"})
    progress("encoder", seconds=round(time.time() - t, 3))
    codes = torch.zeros(1, sample_h // f, sample_w // f, dtype=torch.int64)
    t = time.time()
    dec_io = export(torch, onnx, dec, codes, args.decoder_out, names["decoderInput"], names["decoderOutput"],
                    {0: "batch", 1: "rows", 2: "cols"}, {0: "batch", 2: "height", 3: "width"})
    progress("decoder", seconds=round(time.time() - t, 3))

    emit({
        "event": "result",
        "codebookSize": n_embed,
        "embedDim": embed_dim,
        "zChannels": dd["z_channels"],
        "downsample": f,
        "chMult": dd["ch_mult"],
        "ch": dd["ch"],
        "numResBlocks": dd["num_res_blocks"],
        "attnResolutions": dd["attn_resolutions"],
        "resolution": dd["resolution"],
        "configLayout": layout,
        "stateDictWrapped": wrapped,
        "parameters": sum(p.numel() for p in model.parameters()),
        "selfCheck": check,
        "encoder": {"file": args.encoder_out, **enc_io},
        "decoder": {"file": args.decoder_out, **dec_io},
        "officialCode": {"dir": os.path.abspath(src), "files": {p: sha256(os.path.join(src, p)) for p in OFFICIAL_FILES}},
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "onnx": onnx.__version__},
        "opset": OPSET,
        "seconds": round(time.time() - t0, 3),
    })


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vq-dir", required=True)
    ap.add_argument("--emu35-src", required=True)
    ap.add_argument("--encoder-out", required=True)
    ap.add_argument("--decoder-out", required=True)
    ap.add_argument("--config-file", default="config.yaml")
    ap.add_argument("--ckpt-file", default="model.ckpt")
    ap.add_argument("--io-names", default=json.dumps({
        "encoderInput": "pixel_values", "encoderOutput": "codes", "decoderInput": "codes", "decoderOutput": "pixel_values",
    }))
    args = ap.parse_args()
    try:
        run(args)
    except ExportError as err:
        emit({"event": "error", "kind": err.kind, "message": str(err)})
        sys.exit(2)
    except Exception as err:  # noqa: BLE001
        traceback.print_exc()
        emit({"event": "error", "kind": "export", "message": f"{type(err).__name__}: {err}"})
        sys.exit(2)


if __name__ == "__main__":
    main()
