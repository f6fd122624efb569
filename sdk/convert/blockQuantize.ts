/**
 * Weight-only block quantization in the layout of ONNX Runtime's `com.microsoft.MatMulNBits`.
 *
 * A Hugging Face linear weight is `[N, K]` (out × in). MatMulNBits stores it the same way round:
 * every output row is cut into blocks of `blockSize` along K, each block gets a scale and a zero
 * point, and its values are `q = clamp(round(w / scale) + zp, 0, 2^bits − 1)`, so `w ≈ (q − zp)·scale`.
 * - `packed`: `[N, blocks, blockSize·bits/8]` bytes; at 4 bits two values per byte, low nibble first;
 *   a last block shorter than `blockSize` is padded with its zero point (dequantizes to 0).
 * - `scales`: `[N·blocks]` in the graph's float type.
 * - `zeroPoints`: uint8; at 8 bits `[N·blocks]`, at 4 bits `[N·⌈blocks/2⌉]`, two per byte, low nibble first.
 * Asymmetric (min/max including 0) as ORT's own quantizer does: the range always holds 0 exactly.
 */

export type QuantBits = 4 | 8;

export interface BlockLayout {
  rows: number;
  cols: number;
  bits: QuantBits;
  blockSize: number;
}

export function blocksPerRow({ cols, blockSize }: BlockLayout): number {
  return Math.ceil(cols / blockSize);
}

export function blobBytes({ bits, blockSize }: BlockLayout): number {
  return (blockSize * bits) / 8;
}

export function zeroPointBytesPerRow(layout: BlockLayout): number {
  const blocks = blocksPerRow(layout);
  return layout.bits === 8 ? blocks : Math.ceil(blocks / 2);
}

export interface QuantizedRows {
  packed: Uint8Array;
  /** fp32 values already rounded to the storage type (`roundScale`), in row-major block order. */
  scales: Float32Array;
  zeroPoints: Uint8Array;
}

/**
 * Quantizes `count` consecutive rows (`values` is `[count, cols]`). `roundScale` rounds a scale to
 * how the graph stores it (fp16 or fp32) before the codes are computed, so the graph dequantizes
 * with exactly the scale the codes were made for.
 */
export function quantizeRows(values: Float32Array, count: number, layout: BlockLayout, roundScale: (x: number) => number): QuantizedRows {
  const { cols, bits, blockSize } = layout;
  if (values.length !== count * cols) throw new RangeError(`quantizeRows: ${values.length} values are not ${count} rows of ${cols}`);
  const blocks = blocksPerRow(layout);
  const blob = blobBytes(layout);
  const zpRow = zeroPointBytesPerRow(layout);
  const qmax = 2 ** bits - 1;
  const packed = new Uint8Array(count * blocks * blob);
  const scales = new Float32Array(count * blocks);
  const zeroPoints = new Uint8Array(count * zpRow);
  const codes = new Uint8Array(blockSize);
  for (let r = 0; r < count; r++) {
    for (let b = 0; b < blocks; b++) {
      const from = r * cols + b * blockSize;
      const n = Math.min(blockSize, cols - b * blockSize);
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < n; i++) {
        const v = values[from + i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let scale = roundScale((hi - lo) / qmax);
      if (!(scale > 0) || !Number.isFinite(scale)) scale = roundScale(1); // an all-zero block: any scale, codes = zp
      const zp = Math.min(qmax, Math.max(0, Math.round(-lo / scale)));
      for (let i = 0; i < n; i++) codes[i] = Math.min(qmax, Math.max(0, Math.round(values[from + i]! / scale) + zp));
      codes.fill(zp, n);
      const out = (r * blocks + b) * blob;
      if (bits === 8) packed.set(codes, out);
      else for (let i = 0; i < blockSize; i += 2) packed[out + i / 2] = codes[i]! | (codes[i + 1]! << 4);
      scales[r * blocks + b] = scale;
      if (bits === 8) zeroPoints[r * zpRow + b] = zp;
      else zeroPoints[r * zpRow + (b >> 1)]! |= b & 1 ? zp << 4 : zp;
    }
  }
  return { packed, scales, zeroPoints };
}

/** The weights MatMulNBits computes with: `[rows, cols]` fp32 (tests compare graphs against this). */
export function dequantize(q: QuantizedRows, layout: BlockLayout): Float32Array {
  const { rows, cols, bits, blockSize } = layout;
  const blocks = blocksPerRow(layout);
  const blob = blobBytes(layout);
  const zpRow = zeroPointBytesPerRow(layout);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = Math.floor(c / blockSize);
      const i = c % blockSize;
      const at = (r * blocks + b) * blob;
      const code = bits === 8 ? q.packed[at + i]! : (q.packed[at + (i >> 1)]! >> ((i & 1) * 4)) & 0xf;
      const zpByte = bits === 8 ? q.zeroPoints[r * zpRow + b]! : (q.zeroPoints[r * zpRow + (b >> 1)]! >> ((b & 1) * 4)) & 0xf;
      out[r * cols + c] = (code - zpByte) * q.scales[r * blocks + b]!;
    }
  }
  return out;
}
