/**
 * Memory a decoder needs at a given context: weights + KV cache + the largest activation (the logits).
 * Pure arithmetic, no I/O: `emu model check` feeds it what it read from a model folder, and
 * `emu model check --estimate emu35` feeds it the real Emu3.5-34B shape per weight variant.
 *
 * - KV cache = layers × 2 (key, value) × kvHeads × headDim × context × streams × bytes per element.
 *   Each CFG stream (conditional, unconditional) holds its own cache.
 * - Logits are float32: a graph without a `logits_to_keep` input returns [1, S, V] at prefill, so a
 *   full-context prefill in one pass materialises context × vocab × 4 bytes (the engine prefills in
 *   chunks of PREFILL_CHUNK tokens: `prefillChunk` caps S); with it, one row (vocab × 4).
 * - MatMulNBits (ONNX Runtime's `com.microsoft.MatMulNBits`, the layout `emu convert` writes): per
 *   output row, ⌈K/blockSize⌉ blocks of blockSize·bits/8 bytes, one scale per block in the graph's
 *   float type, and one zero point per block (a byte at 8 bits, a nibble at 4 bits: ⌈blocks/2⌉ bytes).
 */
import { z } from 'zod';

export type FloatDtype = 'float32' | 'float16';
export type WeightVariant = 'fp16' | 'int8' | 'int4';
export const WEIGHT_VARIANTS: readonly WeightVariant[] = ['fp16', 'int8', 'int4'];

/** A Llama/Qwen-style decoder (Emu3): embeddings, per layer q/k/v/o + q_norm/k_norm + gated MLP, final norm, lm_head. */
export interface DecoderShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  /** lm_head shares the embedding matrix. Emu3.5: false. */
  tieEmbeddings?: boolean;
  /** Per-head RMSNorm on q and k (Emu3.5 has them). @default true */
  qkNorm?: boolean;
}

/** BAAI Emu3.5 (34B): the shape in its config.json. */
export const EMU35_34B: DecoderShape = {
  hidden: 5120,
  layers: 64,
  heads: 64,
  kvHeads: 8,
  headDim: 128,
  intermediate: 25600,
  vocab: 282926,
  tieEmbeddings: false,
  qkNorm: true,
};

export function bytesPerElement(dtype: FloatDtype): number {
  return dtype === 'float16' ? 2 : 4;
}

export interface KvCacheInput {
  layers: number;
  kvHeads: number;
  headDim: number;
  context: number;
  streams: number;
  dtype: FloatDtype;
}

export function kvCacheBytes({ layers, kvHeads, headDim, context, streams, dtype }: KvCacheInput): number {
  return layers * 2 * kvHeads * headDim * context * streams * bytesPerElement(dtype);
}

/**
 * float32 logits of one forward pass: one row with `logits_to_keep`; else every position of the
 * pass: the whole context, or at most `prefillChunk` rows when the prompt goes in chunks.
 */
export function logitsBytes({ vocab, context, logitsToKeep, prefillChunk }: { vocab: number; context: number; logitsToKeep: boolean; prefillChunk?: number }): number {
  return (logitsToKeep ? 1 : Math.min(context, prefillChunk ?? context)) * vocab * 4;
}

export interface NBitsLayout {
  bits: 4 | 8;
  blockSize: number;
  /** Bytes of one scale: the graph's float type. @default 2 (fp16) */
  scaleBytes?: number;
}

/** Bytes of one `[out, in]` linear weight stored as MatMulNBits (packed blocks + scales + zero points). */
export function matMulNBitsBytes(out: number, inFeatures: number, { bits, blockSize, scaleBytes = 2 }: NBitsLayout): number {
  const blocks = Math.ceil(inFeatures / blockSize);
  const packed = (blockSize * bits) / 8;
  const zeroPointsPerRow = bits === 8 ? blocks : Math.ceil(blocks / 2);
  return out * (blocks * packed + blocks * scaleBytes + zeroPointsPerRow);
}

/** The `[out, in]` linear layers of one decoder layer. */
export function layerLinears(s: DecoderShape): { name: string; out: number; in: number }[] {
  const q = s.heads * s.headDim;
  const kv = s.kvHeads * s.headDim;
  return [
    { name: 'q_proj', out: q, in: s.hidden },
    { name: 'k_proj', out: kv, in: s.hidden },
    { name: 'v_proj', out: kv, in: s.hidden },
    { name: 'o_proj', out: s.hidden, in: q },
    { name: 'gate_proj', out: s.intermediate, in: s.hidden },
    { name: 'up_proj', out: s.intermediate, in: s.hidden },
    { name: 'down_proj', out: s.hidden, in: s.intermediate },
  ];
}

export interface ParameterCounts {
  embedding: number;
  /** All layers' linear weights. */
  linear: number;
  /** RMSNorm weights: 2 per layer (+ q_norm, k_norm) and the final one. */
  norms: number;
  /** 0 when tied to the embedding. */
  lmHead: number;
  total: number;
}

export function parameterCounts(s: DecoderShape): ParameterCounts {
  const embedding = s.vocab * s.hidden;
  const linear = s.layers * layerLinears(s).reduce((n, l) => n + l.out * l.in, 0);
  const perLayerNorms = 2 * s.hidden + ((s.qkNorm ?? true) ? 2 * s.headDim : 0);
  const norms = s.layers * perLayerNorms + s.hidden;
  const lmHead = s.tieEmbeddings ? 0 : s.vocab * s.hidden;
  return { embedding, linear, norms, lmHead, total: embedding + linear + norms + lmHead };
}

export interface WeightBytes {
  embedding: number;
  linear: number;
  norms: number;
  lmHead: number;
  total: number;
}

/**
 * Weight bytes of a variant. fp16: every tensor fp16. int8/int4: every linear layer including
 * lm_head as MatMulNBits (as `emu convert --quantize` writes them), fp16 scales; embeddings and
 * norms stay fp16.
 */
export function decoderWeightBytes(s: DecoderShape, variant: WeightVariant, blockSize = 64): WeightBytes {
  const p = parameterCounts(s);
  const half = 2;
  const embedding = p.embedding * half;
  const norms = p.norms * half;
  if (variant === 'fp16') {
    const linear = p.linear * half;
    const lmHead = p.lmHead * half;
    return { embedding, linear, norms, lmHead, total: embedding + linear + norms + lmHead };
  }
  const layout: NBitsLayout = { bits: variant === 'int8' ? 8 : 4, blockSize, scaleBytes: half };
  const linear = s.layers * layerLinears(s).reduce((n, l) => n + matMulNBitsBytes(l.out, l.in, layout), 0);
  const lmHead = s.tieEmbeddings ? 0 : matMulNBitsBytes(s.vocab, s.hidden, layout);
  return { embedding, linear, norms, lmHead, total: embedding + linear + norms + lmHead };
}

export interface MemoryInput {
  weightsBytes: number;
  layers: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  /** The KV cache's element type. */
  dtype: FloatDtype;
  logitsToKeep: boolean;
  context: number;
  streams: number;
  /** Prompt tokens per forward pass (the engine's PREFILL_CHUNK); default: the whole context in one pass. */
  prefillChunk?: number;
}

export interface MemoryEstimate {
  context: number;
  streams: number;
  weightsBytes: number;
  kvCacheBytes: number;
  /** The largest single activation: float32 logits of one forward pass. */
  logitsBytes: number;
  totalBytes: number;
}

export const MemoryEstimateSchema = z.object({
  context: z.number().int().positive(),
  streams: z.number().int().positive(),
  weightsBytes: z.number().nonnegative(),
  kvCacheBytes: z.number().nonnegative(),
  logitsBytes: z.number().nonnegative(),
  totalBytes: z.number().nonnegative(),
});

export function estimateMemory(m: MemoryInput): MemoryEstimate {
  if (!Number.isInteger(m.context) || m.context < 1) throw new RangeError(`context must be a positive integer, got ${m.context}`);
  if (!Number.isInteger(m.streams) || m.streams < 1) throw new RangeError(`streams must be a positive integer, got ${m.streams}`);
  const kv = kvCacheBytes(m);
  const logits = logitsBytes(m);
  return { context: m.context, streams: m.streams, weightsBytes: m.weightsBytes, kvCacheBytes: kv, logitsBytes: logits, totalBytes: m.weightsBytes + kv + logits };
}

export interface VariantEstimate extends MemoryEstimate {
  variant: WeightVariant;
  parameters: number;
  weights: WeightBytes;
  /** Logits bytes if the graph had no `logits_to_keep` input (every position of a prefill pass). */
  fullLogitsBytes: number;
}

/**
 * The estimate for a shape per weight variant. The KV cache and activations are fp16 in every
 * variant (quantization is weight-only); the graph has `logits_to_keep` unless told otherwise.
 */
export function estimateVariant(s: DecoderShape, variant: WeightVariant, o: { context: number; streams: number; logitsToKeep?: boolean; blockSize?: number; prefillChunk?: number }): VariantEstimate {
  const weights = decoderWeightBytes(s, variant, o.blockSize ?? 64);
  const logitsToKeep = o.logitsToKeep ?? true;
  const base = estimateMemory({
    weightsBytes: weights.total,
    layers: s.layers,
    kvHeads: s.kvHeads,
    headDim: s.headDim,
    vocab: s.vocab,
    dtype: 'float16',
    logitsToKeep,
    context: o.context,
    streams: o.streams,
    prefillChunk: o.prefillChunk,
  });
  return { ...base, variant, parameters: parameterCounts(s).total, weights, fullLogitsBytes: logitsBytes({ vocab: s.vocab, context: o.context, logitsToKeep: false, prefillChunk: o.prefillChunk }) };
}

/** `21.6 GB (20.1 GiB)`-style: decimal GB first (what disks and cards say), binary in brackets. */
export function formatBytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const units: [number, string, number, string][] = [
    [1e9, 'GB', 2 ** 30, 'GiB'],
    [1e6, 'MB', 2 ** 20, 'MiB'],
    [1e3, 'kB', 2 ** 10, 'KiB'],
  ];
  const [d, du, b, bu] = units.find(([d]) => n >= d)!;
  return `${(n / d).toFixed(2)} ${du} (${(n / b).toFixed(2)} ${bu})`;
}
