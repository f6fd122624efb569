"""Vision tokenizer: nearest-neighbour VQ over 16x16 patches, learned from the training frames.

Encoder: a 16x16 stride-16 conv whose filters are the codebook patches and whose bias is -|e|^2/2,
then argmax over codes (argmax of x.e - |e|^2/2 = nearest neighbour). Decoder: codebook lookup and
un-patchify. Both are exported to ONNX with dynamic batch and grid size.
"""
import argparse
import collections
import json
import os

import numpy as np
import torch
from torch import nn

from .dataset import export_dirs, frame_paths, load_examples, load_frame
from . import paths

P = 16


def to_unit(u8):
    return u8.astype(np.float32) / 127.5 - 1.0


def patches_u8(img):
    """[H,W,3] uint8 -> [h*w, 3*16*16] uint8 in (channel, y, x) order, the conv weight layout."""
    h, w = img.shape[0] // P, img.shape[1] // P
    x = img[:h * P, :w * P].reshape(h, P, w, P, 3).transpose(0, 2, 4, 1, 3)
    return x.reshape(h * w, 3 * P * P)


TABLE = (200, 190, 175)
PALETTE = {'red': (220, 40, 40), 'green': (40, 170, 60), 'blue': (40, 80, 220),
           'yellow': (240, 220, 40), 'purple': (140, 60, 180), 'orange': (245, 140, 20)}


BOWLS = ('red', 'green', 'blue')


def grammar_cells():
    """Every slot sim/EXPORT.md allows, as (bowl or None, stack bottom-up): bowl ring or none, stacks of up to 3 blocks."""
    import itertools
    stacks = [()] + [s for n in (1, 2, 3) for s in itertools.product(PALETTE, repeat=n)]
    return [(bowl, stack) for bowl in (None,) + BOWLS for stack in stacks]


LEVEL_SQUARES = ((3, 13), (5, 11), (7, 9))


def cell_patch(bowl, stack):
    """The 16x16 patch of one slot, flattened in (channel, y, x) order like `patches_u8`. Drawn as
    sim/render/slotPatch.ts draws it: the bowl ring, then each level as the ring between its square and
    the next level's (the table shows inside the top block)."""
    x = np.empty((P, P, 3), np.uint8)
    x[:] = TABLE
    if bowl:
        x[1:15, 1:15] = PALETTE[bowl]
        x[3:13, 3:13] = TABLE
    for lvl, b in enumerate(stack):
        a, e = LEVEL_SQUARES[lvl]
        x[a:e, a:e] = PALETTE[b]
        if lvl + 1 < len(LEVEL_SQUARES):
            a, e = LEVEL_SQUARES[lvl + 1]
            x[a:e, a:e] = TABLE
    return x.transpose(2, 0, 1).reshape(-1)


def grammar_patches():
    """Every allowed slot's patch, so that held-out frames with a combination absent from the training
    frames still encode exactly."""
    return [cell_patch(bowl, stack) for bowl, stack in grammar_cells()]


def cell_codes(codebook, cells):
    """The code the tokenizer gives each (bowl, stack) cell's patch; each must be an exact codebook entry."""
    patches = to_unit(np.stack([cell_patch(b, s) for b, s in cells]))
    codes = assign(patches, codebook)
    if np.abs(codebook[codes] - patches).max() > 1e-6:
        raise ValueError('the codebook lacks a slot content the world allows: this needs the vision tokenizer vision.py builds from the simulator export')
    return codes


def learn_codebook(frame_files, max_codes, seed=0):
    counts = collections.Counter()
    for p in frame_files:
        for row in patches_u8(load_frame(p)):
            counts[row.tobytes()] += 1
    seen = len(counts)
    for g in grammar_patches():
        counts.setdefault(g.tobytes(), 0)
    uniq = np.frombuffer(b''.join(counts.keys()), np.uint8).reshape(len(counts), -1)
    freq = np.asarray(list(counts.values()), np.float64)
    order = np.lexsort((np.arange(len(freq)), -freq))  # most frequent first, stable
    uniq, freq = uniq[order], freq[order]
    if len(uniq) <= max_codes:
        return to_unit(uniq), {'uniquePatches': seen, 'withGrammar': len(uniq), 'method': 'exact'}
    return kmeans(to_unit(uniq), freq, max_codes, seed), {'uniquePatches': len(uniq), 'method': 'kmeans'}


def kmeans(x, w, k, seed, iters=25):
    rng = np.random.default_rng(seed)
    c = x[:k].copy()  # most frequent patches as the start
    for _ in range(iters):
        a = assign(x, c)
        for j in range(k):
            m = a == j
            if m.any():
                c[j] = (x[m] * w[m, None]).sum(0) / w[m].sum()
            else:
                c[j] = x[rng.integers(len(x))]
    return c


def assign(x, c):
    out = np.empty(len(x), np.int64)
    bias = -(c * c).sum(1) / 2
    for i in range(0, len(x), 4096):
        out[i:i + 4096] = np.argmax(x[i:i + 4096] @ c.T + bias, 1)
    return out


class VqEncoder(nn.Module):
    def __init__(self, codebook):
        super().__init__()
        k = codebook.shape[0]
        self.proj = nn.Conv2d(3, k, P, stride=P, bias=True)
        with torch.no_grad():
            self.proj.weight.copy_(torch.from_numpy(codebook).view(k, 3, P, P))
            self.proj.bias.copy_(-torch.from_numpy(codebook).pow(2).sum(1) / 2)

    def forward(self, pixel_values):
        return self.proj(pixel_values).argmax(1)


class VqDecoder(nn.Module):
    def __init__(self, codebook):
        super().__init__()
        self.register_buffer('codebook', torch.from_numpy(codebook))

    def forward(self, codes):
        b, h, w = codes.shape
        x = self.codebook[codes].view(b, h, w, 3, P, P)
        return x.permute(0, 3, 1, 4, 2, 5).reshape(b, 3, h * P, w * P)


def encode_np(img_u8, codebook):
    h, w = img_u8.shape[0] // P, img_u8.shape[1] // P
    return assign(to_unit(patches_u8(img_u8)), codebook).reshape(h, w)


def decode_np(codes, codebook):
    h, w = codes.shape
    x = codebook[codes.reshape(-1)].reshape(h, w, 3, P, P).transpose(0, 3, 1, 4, 2)
    return x.reshape(h * P, w * P, 3)


def psnr(a_unit, b_unit):
    a = np.clip((a_unit + 1) * 127.5, 0, 255)
    b = np.clip((b_unit + 1) * 127.5, 0, 255)
    mse = float(((a - b) ** 2).mean())
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def export_onnx(codebook, out_dir):
    enc, dec = VqEncoder(codebook).eval(), VqDecoder(codebook).eval()
    x = torch.zeros(2, 3, 128, 128)
    torch.onnx.export(enc, (x,), os.path.join(out_dir, 'vision_encoder.onnx'), opset_version=17,
                      input_names=['pixel_values'], output_names=['codes'],
                      dynamic_axes={'pixel_values': {0: 'b', 2: 'H', 3: 'W'}, 'codes': {0: 'b', 1: 'h', 2: 'w'}})
    c = torch.zeros(2, 8, 8, dtype=torch.int64)
    torch.onnx.export(dec, (c,), os.path.join(out_dir, 'vision_decoder.onnx'), opset_version=17,
                      input_names=['codes'], output_names=['pixel_values'],
                      dynamic_axes={'codes': {0: 'b', 1: 'h', 2: 'w'}, 'pixel_values': {0: 'b', 2: 'H', 3: 'W'}})


def all_frames(data_dir, split):
    seen = []
    for d in export_dirs(data_dir, split):
        for ex in load_examples(d):
            seen.extend(frame_paths(ex))
    return list(dict.fromkeys(seen))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=paths.EXPORT)
    ap.add_argument('--out', default=paths.VISION)
    ap.add_argument('--max-codes', type=int, default=2048)
    ap.add_argument('--keep-codebook', action='store_true',
                    help='re-encode every frame with the existing OUT/codebook.npy (more data for a model already trained on it)')
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    train = all_frames(args.data, 'train')
    if args.keep_codebook:
        codebook = np.load(os.path.join(args.out, 'codebook.npy'))
        info = json.load(open(os.path.join(args.out, 'vision.json')))
    else:
        codebook, info = learn_codebook(train, args.max_codes)
    np.save(os.path.join(args.out, 'codebook.npy'), codebook)
    codes = {}
    for split in ('train', 'heldout'):
        for p in all_frames(args.data, split):
            codes[os.path.relpath(p, args.data)] = encode_np(load_frame(p), codebook)
    np.savez_compressed(os.path.join(args.out, 'codes.npz'), **{k.replace('/', '|'): v for k, v in codes.items()})
    held = all_frames(args.data, 'heldout')
    ps = [psnr(decode_np(codes[os.path.relpath(p, args.data)], codebook), to_unit(load_frame(p))) for p in held]
    info.update(codebookSize=int(codebook.shape[0]), trainFrames=len(train), heldoutFrames=len(held),
                heldoutPsnrMin=float(min(ps)) if ps else None, heldoutPsnrMean=float(np.mean(ps)) if ps else None)
    export_onnx(codebook, args.out)
    with open(os.path.join(args.out, 'vision.json'), 'w') as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))


if __name__ == '__main__':
    main()
