#!/usr/bin/env python3
"""Logits of the OFFICIAL Emu3.5 decoder (`emu3p5.modeling_emu3.Emu3ForCausalLM`, eager attention,
fp32) on a Hugging Face checkpoint folder, as the reference a converted decoder is compared with.

    python3 emu3_reference.py --hf DIR --request REQ.json --out OUT.bin [--emu35-src DIR]

REQ.json: {"prompt": [ids], "steps": [ids], "greedy": N (optional)}.
- The prompt goes through as one prefill (use_cache=True); each id of "steps" is then fed alone
  through the returned past_key_values (real KV-cached decoding).
- OUT.bin: little-endian float32 logits, the prefill's [S, V] then one [V] row per step.
- OUT.bin.json: {"S", "V", "steps", "parameters": [state_dict names], "attention": class name,
  "greedy": [N argmax tokens from the prompt] when asked}.

The official sources are imported from --emu35-src (default $EMU35_SRC or /work/shared/emu35-src),
never copied; `transformers` is the stand-in next to this file (test/conformance/standin), which
holds only plumbing. Weights are read from safetensors here (no `safetensors` package): a single
model.safetensors, or shards named by model.safetensors.index.json. Loading is strict: a missing,
unexpected or misshapen tensor fails the run.
"""
import argparse
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64"}


def read_safetensors(path, torch):
    """name -> float32 tensor, for one file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: not a safetensors file (too short)")
    (length,) = struct.unpack("<Q", raw[:8])
    if length > len(raw) - 8:
        raise SystemExit(f"{path}: header length {length} runs past the file")
    header = json.loads(raw[8 : 8 + length].decode("utf8"))
    data = memoryview(raw)[8 + length :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = entry["dtype"]
        if dtype not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {dtype}, not a float type")
        torch_dtype = getattr(torch, DTYPES[dtype])
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = 1
        for d in shape:
            count *= d
        if end - begin != count * torch.empty((), dtype=torch_dtype).element_size() or end > len(data):
            raise SystemExit(f"{path}: tensor {name} {dtype}{shape} has a bad byte range [{begin}, {end})")
        if count == 0:
            tensor = torch.empty(shape, dtype=torch_dtype)
        else:
            tensor = torch.frombuffer(bytearray(data[begin:end]), dtype=torch_dtype).reshape(shape)
        out[name] = tensor.to(torch.float32)
    return out


def read_checkpoint(hf, torch):
    index_path = os.path.join(hf, "model.safetensors.index.json")
    single = os.path.join(hf, "model.safetensors")
    if os.path.exists(index_path):
        with open(index_path) as f:
            weight_map = json.load(f)["weight_map"]
        state = {}
        for shard in sorted(set(weight_map.values())):
            tensors = read_safetensors(os.path.join(hf, shard), torch)
            for name, tensor in tensors.items():
                if name in state:
                    raise SystemExit(f"tensor {name} is in two shards")
                if weight_map.get(name) != shard:
                    raise SystemExit(f"{shard} holds {name}, but the index puts it in {weight_map.get(name)}")
                state[name] = tensor
        absent = sorted(set(weight_map) - set(state))
        if absent:
            raise SystemExit(f"the index names tensors no shard holds: {absent}")
        return state
    if os.path.exists(single):
        return read_safetensors(single, torch)
    raise SystemExit(f"{hf} has neither model.safetensors.index.json nor model.safetensors")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hf", required=True, help="checkpoint folder: config.json + safetensors")
    parser.add_argument("--request", required=True, help='JSON: {"prompt": [...], "steps": [...], "greedy": N}')
    parser.add_argument("--out", required=True, help="float32 logits file; its .json sidecar is written beside it")
    parser.add_argument("--emu35-src", default=os.environ.get("EMU35_SRC", "/work/shared/emu35-src"))
    args = parser.parse_args()

    src = os.path.join(args.emu35_src, "src")
    if not os.path.exists(os.path.join(src, "emu3p5", "modeling_emu3.py")):
        raise SystemExit(f"no official Emu3.5 sources at {args.emu35_src} (expected src/emu3p5/modeling_emu3.py)")
    sys.path.insert(0, os.path.join(HERE, "standin"))
    sys.path.insert(0, src)

    import numpy as np
    import torch

    from emu3p5 import modeling_emu3
    from emu3p5.configuration_emu3 import Emu3Config
    from emu3p5.modeling_emu3 import Emu3ForCausalLM

    if not getattr(sys.modules.get("transformers"), "__file__", "").startswith(os.path.join(HERE, "standin")):
        raise SystemExit(f"transformers came from {sys.modules['transformers'].__file__}, not the stand-in")

    with open(args.request) as f:
        request = json.load(f)
    prompt = [int(t) for t in request["prompt"]]
    steps = [int(t) for t in request.get("steps", [])]
    greedy = int(request.get("greedy") or 0)
    if not prompt:
        raise SystemExit("the request's prompt is empty")

    with open(os.path.join(args.hf, "config.json")) as f:
        config = Emu3Config(**json.load(f))
    config._attn_implementation = "eager"
    for t in prompt + steps:
        if not 0 <= t < config.vocab_size:
            raise SystemExit(f"token {t} is outside the vocabulary [0, {config.vocab_size})")

    torch.manual_seed(0)
    model = Emu3ForCausalLM(config).to(torch.float32)
    attention = type(model.model.layers[0].self_attn)
    if attention is not modeling_emu3.Emu3Attention:
        raise SystemExit(f"the decoder layers use {attention.__name__}, not the eager Emu3Attention")

    state = read_checkpoint(args.hf, torch)
    if config.tie_word_embeddings and "lm_head.weight" not in state:
        state["lm_head.weight"] = state.get("model.embed_tokens.weight")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    misshapen = [f"{n}: checkpoint {list(state[n].shape)}, model {list(expected[n].shape)}" for n in expected if n in state and state[n] is not None and state[n].shape != expected[n].shape]
    if missing or unexpected or misshapen:
        raise SystemExit(f"strict load failed: missing {missing}, unexpected {unexpected}, misshapen {misshapen}")
    model.load_state_dict(state, strict=True)
    model.eval()

    rows = []
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt], dtype=torch.long), use_cache=True, return_dict=True)
        rows.append(out.logits[0].float())
        past = out.past_key_values
        for t in steps:
            out = model(input_ids=torch.tensor([[t]], dtype=torch.long), past_key_values=past, use_cache=True, return_dict=True)
            rows.append(out.logits[0].float())
            past = out.past_key_values

        # Greedy decoding the way transformers' generate drives the module: a growing 2-D attention
        # mask and the official prepare_inputs_for_generation (positions from the mask's cumsum,
        # only the new token once the cache holds the rest).
        tokens = []
        if greedy > 0:
            ids = torch.tensor([prompt], dtype=torch.long)
            mask = torch.ones_like(ids)
            cache = None
            for _ in range(greedy):
                inputs = model.prepare_inputs_for_generation(ids, past_key_values=cache, attention_mask=mask, use_cache=True)
                out = model(**inputs, return_dict=True)
                nxt = int(torch.argmax(out.logits[0, -1]))
                tokens.append(nxt)
                cache = out.past_key_values
                ids = torch.cat([ids, torch.tensor([[nxt]], dtype=torch.long)], dim=1)
                mask = torch.cat([mask, torch.ones((1, 1), dtype=mask.dtype)], dim=1)

    logits = torch.cat(rows, dim=0).numpy().astype("<f4")
    if not np.isfinite(logits).all():
        print("warning: the reference logits are not all finite", file=sys.stderr)
    logits.tofile(args.out)
    meta = {
        "S": len(prompt),
        "V": int(config.vocab_size),
        "steps": len(steps),
        "attention": attention.__name__,
        "parameters": sorted(expected),
        "torch": torch.__version__,
    }
    if greedy > 0:
        meta["greedy"] = tokens
    with open(args.out + ".json", "w") as f:
        json.dump(meta, f)


if __name__ == "__main__":
    main()
