import { GraphBuilder } from '../../sdk/onnx/GraphBuilder.ts';

/**
 * Codebook of flat-colour patches: code k is an RGB colour with 8-bit-exact components (q/127.5 − 1), laid out
 * as the base-L digits of k (L = ⌈K^⅓⌉ levels per channel). Distinct codes are distinct colours, so nearest-
 * neighbour encoding inverts decoding exactly, even through uint8 pixels.
 * @returns K×3 colours in [-1, 1], row-major.
 */
export function flatColourPalette(codebookSize: number): Float32Array {
  const levels = Math.ceil(Math.cbrt(codebookSize) - 1e-9);
  const level = (i: number) => (levels === 1 ? 128 : Math.round((i * 255) / (levels - 1))) / 127.5 - 1;
  const out = new Float32Array(codebookSize * 3);
  for (let k = 0; k < codebookSize; k++) {
    out[3 * k] = level(Math.floor(k / (levels * levels)) % levels);
    out[3 * k + 1] = level(Math.floor(k / levels) % levels);
    out[3 * k + 2] = level(k % levels);
  }
  return out;
}

/**
 * `pixel_values` float32 [B,3,H,W] → `codes` int64 [B,H/f,W/f]: a stride-f patch-mean Conv, then
 * argmax over k of z·e_k − |e_k|²/2 (the dot-product form of nearest neighbour, as IBQ scores codes).
 * The score tensor is [B,h,w,K]: mind its size for large codebooks on large images.
 */
export function buildTinyVisionEncoder(palette: Float32Array, downsample: number): Uint8Array {
  const K = palette.length / 3;
  const f = downsample;
  const g = new GraphBuilder('tiny_vision_encoder');
  const pixels = g.input('pixel_values', 'float32', ['batch', 3, 'height', 'width']);

  const kernel = new Float32Array(3 * 3 * f * f);
  for (let c = 0; c < 3; c++) kernel.fill(1 / (f * f), (c * 3 + c) * f * f, (c * 3 + c + 1) * f * f);
  const z = g.op('Conv', [pixels, g.float('patch_proj', [3, 3, f, f], kernel)], {
    kernel_shape: { ints: [f, f] },
    strides: { ints: [f, f] },
  });
  const zT = g.op('Transpose', [z], { perm: { ints: [0, 2, 3, 1] } });

  const codebookT = new Float32Array(3 * K);
  const halfNorm = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < 3; c++) {
      const e = palette[3 * k + c]!;
      codebookT[c * K + k] = e;
      halfNorm[k]! -= (e * e) / 2;
    }
  }
  const scores = g.op('Add', [g.op('MatMul', [zT, g.float('codebook_t', [3, K], codebookT)]), g.float('codebook_bias', [K], halfNorm)]);
  g.output('codes', g.op('ArgMax', [scores], { axis: { int: -1 }, keepdims: { int: 0 } }), 'int64', ['batch', 'rows', 'cols']);
  return g.encode();
}

/** `codes` int64 [B,h,w] → `pixel_values` float32 [B,3,h·f,w·f]: look up each code's colour, then nearest-upsample by f. */
export function buildTinyVisionDecoder(palette: Float32Array, downsample: number): Uint8Array {
  const K = palette.length / 3;
  const f = downsample;
  const g = new GraphBuilder('tiny_vision_decoder');
  const codes = g.input('codes', 'int64', ['batch', 'rows', 'cols']);
  const colours = g.op('Gather', [g.float('palette', [K, 3], palette), codes], { axis: { int: 0 } });
  const grid = g.op('Transpose', [colours], { perm: { ints: [0, 3, 1, 2] } });
  const pixels = g.op('Resize', [grid, '', g.float('scales', [4], [1, 1, f, f])], {
    mode: { string: 'nearest' },
    coordinate_transformation_mode: { string: 'asymmetric' },
    nearest_mode: { string: 'floor' },
  });
  g.output('pixel_values', pixels, 'float32', ['batch', 3, 'height', 'width']);
  return g.encode();
}
