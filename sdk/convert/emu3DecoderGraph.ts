import { attentionBias, type KeyPositionInputs } from '../onnx/attentionBias.ts';
import type { GraphBuilder } from '../onnx/GraphBuilder.ts';
import type { Emu3Config } from './emu3Config.ts';
import { emu3Names } from './emu3Config.ts';
import type { DecoderWeights, FloatType, LinearWeight } from './DecoderWeights.ts';

/**
 * `concat`: present = Concat(past, new), any batch and padding. `shared`: GroupQueryAttention writes
 * the new positions into the past buffer itself (bound as present too), B = 1 or right padding.
 */
export type KvCacheLayout = 'concat' | 'shared';

/** Graph input/output names (the SDK's decoder contract, `DecoderSpec.io` defaults plus `logits_to_keep`). */
export const EMU3_IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  pastKey: 'past_key_values.{i}.key',
  pastValue: 'past_key_values.{i}.value',
  logits: 'logits',
  presentKey: 'present.{i}.key',
  presentValue: 'present.{i}.value',
  logitsToKeep: 'logits_to_keep',
  keyPositions: 'key_positions',
} as const;

/**
 * The names a graph of this layout has: `key_positions` (the per-query raster mask) only in the concat
 * layout. GroupQueryAttention masks by slot alone, so shared-cache graphs go without it.
 */
export function emu3Io(kvCache: KvCacheLayout): Omit<Record<keyof typeof EMU3_IO, string>, 'keyPositions'> & { keyPositions?: string } {
  if (kvCache === 'concat') return { ...EMU3_IO };
  const { keyPositions: _omitted, ...rest } = EMU3_IO;
  return rest;
}

const CAST_TO: Record<FloatType, number> = { float32: 1, float16: 10 };

/**
 * The official `Emu3ForCausalLM` (eager attention) as an ONNX decoder-with-past, op for op:
 * embed → per layer [RMSNorm → q/k/v → per-head q_norm/k_norm → RoPE → GQA attention (fp32 softmax)
 * → o_proj, residual, RMSNorm → SiLU-gated MLP, residual] → final RMSNorm → lm_head.
 *
 * Choices that keep it exact and light:
 * - Activations stay 2-D `[B·S, H]` between layers so every linear is `Gemm(transB=1)` on the
 *   checkpoint's own `[out, in]` weight (never transposed) or `MatMulNBits` on the same layout.
 * - RMSNorm runs in fp32 and casts back, as the official norm does; attention scores are
 *   softmaxed in fp32; RoPE angles are fp32 `position · inv_freq` (÷ factor for linear scaling).
 * - `logits_to_keep` selects the last k positions before the final norm, so a 4k-token prefill
 *   computes one row of 282,926 logits, not 4k; logits are always float32.
 * - Batch > 1 with left padding works: the mask is per row and positions come from the caller.
 * - concat layout: `key_positions` [B,T] (each slot's position id) makes the mask per query: a key is
 *   seen only at a position ≤ the query's, so a grid decoded out of raster order (ZipAR) still attends
 *   in raster order. Fed as 0…T−1 it is the plain causal mask.
 */
export function buildEmu3Decoder(g: GraphBuilder, config: Emu3Config, weights: DecoderWeights, dtype: FloatType, kvCache: KvCacheLayout = 'concat'): void {
  const { hidden_size: H, num_hidden_layers: L, num_attention_heads: Hq, num_key_value_heads: Hkv, head_dim: D, vocab_size: V } = config;
  const ids = g.input(EMU3_IO.inputIds, 'int64', ['batch', 'seq']);
  const mask = g.input(EMU3_IO.attentionMask, 'int64', ['batch', 'total']);
  const positions = g.input(EMU3_IO.positionIds, 'int64', ['batch', 'seq']);
  const keep = g.input(EMU3_IO.logitsToKeep, 'int64', [1]);
  const past = Array.from({ length: L }, (_, i) => ({
    key: g.input(at(EMU3_IO.pastKey, i), dtype, ['batch', Hkv, 'past', D]),
    value: g.input(at(EMU3_IO.pastValue, i), dtype, ['batch', Hkv, 'past', D]),
  }));
  g.declareOutput(EMU3_IO.logits, 'float32', ['batch', 'kept', V]);

  const ctx: Ctx = { g, config, dtype, bs: g.op('Shape', [ids]) };
  const rope = ropeTables(ctx, positions);
  const mix =
    kvCache === 'shared'
      ? sharedCacheAttention(ctx, mask)
      : concatAttention(ctx, g, ids, mask, past[0]!.key, { keyPositions: g.input(EMU3_IO.keyPositions, 'int64', ['batch', 'total']), positionIds: positions });

  const embed = weights.float(emu3Names.embed, [V, H]);
  let x = g.op('Reshape', [g.op('Gather', [embed, ids], { axis: { int: 0 } }), g.int64('shape', [2], [-1, H])]);
  for (let i = 0; i < L; i++) {
    const n = emu3Names.layer(i);
    const h = rmsNorm(ctx, x, weights.float(n.inputNorm, [H]));
    x = g.op('Add', [x, mix(weights, h, i, rope, past[i]!)]);
    const h2 = rmsNorm(ctx, x, weights.float(n.postNorm, [H]));
    const gate = linear(g, h2, weights.linear(n.gate, config.intermediate_size, H));
    const up = linear(g, h2, weights.linear(n.up, config.intermediate_size, H));
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(g, act, weights.linear(n.down, H, config.intermediate_size))]);
  }

  // The last `logits_to_keep` positions of every row, then the head on those alone.
  const x3 = g.op('Reshape', [x, g.op('Concat', [ctx.bs, g.int64('h', [1], [H])], { axis: { int: 0 } })]);
  const last = g.op('Slice', [x3, g.op('Neg', [keep]), g.int64('end', [1], [Number.MAX_SAFE_INTEGER]), g.int64('axis', [1], [1])]);
  const normed = rmsNorm(ctx, g.op('Reshape', [last, g.int64('shape', [2], [-1, H])]), weights.float(emu3Names.norm, [H]));
  const head = config.tie_word_embeddings
    ? ({ kind: 'dense', weight: embed, out: V, in: H } as const)
    : weights.linear(emu3Names.lmHead, V, H);
  let logits = linear(g, normed, head);
  if (dtype !== 'float32') logits = g.op('Cast', [logits], { to: { int: 1 } });
  const batch = g.op('Slice', [ctx.bs, g.int64('s', [1], [0]), g.int64('e', [1], [1])]);
  g.op('Reshape', [logits, g.op('Concat', [batch, g.int64('kv', [2], [-1, V])], { axis: { int: 0 } })], {}, EMU3_IO.logits);
}

interface Ctx {
  g: GraphBuilder;
  config: Emu3Config;
  dtype: FloatType;
  /** `Shape(input_ids)`: [B, S]. */
  bs: string;
}

function at(pattern: string, i: number): string {
  return pattern.replace('{i}', String(i));
}

/** `x·Wᵀ` for a 2-D `x` and an `[out, in]` weight. */
function linear(g: GraphBuilder, x: string, w: LinearWeight): string {
  if (w.kind === 'dense') return g.op('Gemm', [x, w.weight], { transB: { int: 1 } });
  return g.op(
    'MatMulNBits',
    [x, w.weight, w.scales, w.zeroPoints],
    { K: { int: w.in }, N: { int: w.out }, bits: { int: w.bits }, block_size: { int: w.blockSize }, accuracy_level: { int: w.accuracyLevel } },
    undefined,
    'com.microsoft',
  );
}

/** Emu3RMSNorm over the last axis: in fp32, back to the graph type, then times the weight. */
function rmsNorm({ g, config, dtype }: Ctx, x: string, weight: string): string {
  const x32 = dtype === 'float32' ? x : g.op('Cast', [x], { to: { int: 1 } });
  const variance = g.op('ReduceMean', [g.op('Mul', [x32, x32])], { axes: { ints: [-1] }, keepdims: { int: 1 } });
  const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.scalar('float32', config.rms_norm_eps)])])]);
  let y = g.op('Mul', [x32, inv]);
  if (dtype !== 'float32') y = g.op('Cast', [y], { to: { int: CAST_TO[dtype] } });
  return g.op('Mul', [weight, y]);
}

interface Rope {
  /** cos/sin [B,1,S,D] for keys [B,Hkv,S,D] and [B,1,1,S,D] for grouped queries [B,Hkv,G,S,D]. */
  cos4: string;
  sin4: string;
  cos5: string;
  sin5: string;
  /** cos/sin [B,S,1,D] for heads-last [B,S,H,D] (the shared-cache layout). */
  cosBshd: string;
  sinBshd: string;
}

/** cos/sin of `position · inv_freq` in fp32 (positions ÷ factor under linear scaling), `[f, f]` along D as the official cache. */
function ropeTables({ g, config, dtype }: Ctx, positions: string): Rope {
  const D = config.head_dim;
  const invFreq = Float32Array.from({ length: D / 2 }, (_, j) => 1 / config.rope_theta ** ((2 * j) / D));
  let t = g.op('Cast', [positions], { to: { int: 1 } });
  if (config.rope_scaling?.type === 'linear') t = g.op('Div', [t, g.scalar('float32', config.rope_scaling.factor)]);
  const freqs = g.op('Mul', [g.op('Unsqueeze', [t, g.int64('axis', [1], [-1])]), g.float('inv_freq', [D / 2], invFreq)]);
  const emb = g.op('Concat', [freqs, freqs], { axis: { int: -1 } });
  const cast = (v: string) => (dtype === 'float32' ? v : g.op('Cast', [v], { to: { int: CAST_TO[dtype] } }));
  const cos = cast(g.op('Cos', [emb]));
  const sin = cast(g.op('Sin', [emb]));
  const u = (v: string, axes: number[]) => g.op('Unsqueeze', [v, g.int64('axes', [axes.length], axes)]);
  return { cos4: u(cos, [1]), sin4: u(sin, [1]), cos5: u(cos, [1, 2]), sin5: u(sin, [1, 2]), cosBshd: u(cos, [2]), sinBshd: u(sin, [2]) };
}

/** `x·cos + rotate_half(x)·sin`, rotate_half(x) = [−x₂, x₁] over the halves of the last axis. */
function applyRope(g: GraphBuilder, x: string, cos: string, sin: string, D: number): string {
  const axis = g.int64('axis', [1], [-1]);
  const x1 = g.op('Slice', [x, g.int64('s', [1], [0]), g.int64('e', [1], [D / 2]), axis]);
  const x2 = g.op('Slice', [x, g.int64('s', [1], [D / 2]), g.int64('e', [1], [D]), axis]);
  const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: { int: -1 } });
  return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
}

type Mix = (weights: DecoderWeights, h: string, layer: number, rope: Rope, past: { key: string; value: string }) => string;

function concatAttention(ctx: Ctx, g: GraphBuilder, ids: string, mask: string, pastKey: string, order: KeyPositionInputs): Mix {
  const bias = attentionBias(g, ids, mask, pastKey, order);
  return (weights, h, layer, rope, past) => attention(ctx, weights, h, layer, rope, bias, past);
}

/**
 * The same attention through `com.microsoft.GroupQueryAttention` with its past/present buffer shared:
 * q/k are normed and rotated here (the official order: norm, then RoPE), so GQA runs without its own
 * rotary. `seqlens_k` = valid length − 1 and `total_sequence_length` come from `attention_mask`, so the
 * inputs are those of the concat graph; past/present are [B,Hkv,capacity,D] buffers.
 */
function sharedCacheAttention(ctx: Ctx, mask: string): Mix {
  const { g, config, dtype, bs } = ctx;
  const { hidden_size: H, num_attention_heads: Hq, num_key_value_heads: Hkv, head_dim: D } = config;
  const summed = g.op('ReduceSum', [mask, g.int64('axes', [1], [1])], { keepdims: { int: 0 } });
  const seqlens = g.op('Cast', [g.op('Sub', [summed, g.scalar('int64', 1)])], { to: { int: 6 } });
  const total = g.op('Cast', [g.op('Slice', [g.op('Shape', [mask]), g.int64('s', [1], [1]), g.int64('e', [1], [2])])], { to: { int: 6 } });
  const shape = (dims: number[]) => g.op('Concat', [bs, g.int64('dims', [dims.length], dims)], { axis: { int: 0 } });
  return (weights, h, layer, rope, past) => {
    const n = emu3Names.layer(layer);
    const heads = (w: string, count: number, norm: string) => {
      const x = g.op('Reshape', [linear(g, h, weights.linear(w, count * D, H)), shape([count, D])]);
      const rotated = applyRope(g, rmsNorm(ctx, x, weights.float(norm, [D])), rope.cosBshd, rope.sinBshd, D);
      return g.op('Reshape', [rotated, shape([count * D])]);
    };
    const q = heads(n.q, Hq, n.qNorm);
    const k = heads(n.k, Hkv, n.kNorm);
    const v = g.op('Reshape', [linear(g, h, weights.linear(n.v, Hkv * D, H)), shape([Hkv * D])]);
    const presentKey = at(EMU3_IO.presentKey, layer);
    const presentValue = at(EMU3_IO.presentValue, layer);
    const out = g.op('Reshape', [g.opMulti('GroupQueryAttention', [q, k, v, past.key, past.value, seqlens, total], { num_heads: { int: Hq }, kv_num_heads: { int: Hkv }, scale: { float: 1 / Math.sqrt(D) } }, [g.fresh('gqa'), presentKey, presentValue], 'com.microsoft')[0]!, g.int64('shape', [2], [-1, Hq * D])]);
    g.declareOutput(presentKey, dtype, ['batch', Hkv, 'capacity', D]);
    g.declareOutput(presentValue, dtype, ['batch', Hkv, 'capacity', D]);
    return linear(g, out, weights.linear(n.o, H, Hq * D));
  };
}

/**
 * Emu3Attention (eager). Query head h = kv·G + g (as `repeat_kv` expands), so queries are grouped as
 * [B,Hkv,G,S,D] and each KV head broadcasts over its G query heads with no copies.
 */
function attention(
  ctx: Ctx,
  weights: DecoderWeights,
  h: string,
  layer: number,
  rope: Rope,
  bias: string,
  past: { key: string; value: string },
): string {
  const { g, config, dtype, bs } = ctx;
  const { hidden_size: H, num_attention_heads: Hq, num_key_value_heads: Hkv, head_dim: D } = config;
  const G = Hq / Hkv;
  const n = emu3Names.layer(layer);
  const shape = (dims: number[]) => g.op('Concat', [bs, g.int64('dims', [dims.length], dims)], { axis: { int: 0 } });

  const q0 = g.op('Reshape', [linear(g, h, weights.linear(n.q, Hq * D, H)), shape([Hkv, G, D])]);
  const qn = g.op('Transpose', [rmsNorm(ctx, q0, weights.float(n.qNorm, [D]))], { perm: { ints: [0, 2, 3, 1, 4] } });
  const q = applyRope(g, qn, rope.cos5, rope.sin5, D);

  const k0 = g.op('Reshape', [linear(g, h, weights.linear(n.k, Hkv * D, H)), shape([Hkv, D])]);
  const kn = g.op('Transpose', [rmsNorm(ctx, k0, weights.float(n.kNorm, [D]))], { perm: { ints: [0, 2, 1, 3] } });
  const k = applyRope(g, kn, rope.cos4, rope.sin4, D);
  const v0 = g.op('Reshape', [linear(g, h, weights.linear(n.v, Hkv * D, H)), shape([Hkv, D])]);
  const v = g.op('Transpose', [v0], { perm: { ints: [0, 2, 1, 3] } });

  const keys = g.op('Concat', [past.key, k], { axis: { int: 2 } }, at(EMU3_IO.presentKey, layer));
  const values = g.op('Concat', [past.value, v], { axis: { int: 2 } }, at(EMU3_IO.presentValue, layer));
  g.declareOutput(keys, dtype, ['batch', Hkv, 'total', D]);
  g.declareOutput(values, dtype, ['batch', Hkv, 'total', D]);

  const axis2 = g.int64('axis', [1], [2]);
  const kT = g.op('Unsqueeze', [g.op('Transpose', [keys], { perm: { ints: [0, 1, 3, 2] } }), axis2]);
  let scores = g.op('Div', [g.op('MatMul', [q, kT]), g.scalar(dtype, Math.sqrt(D))]);
  if (dtype !== 'float32') scores = g.op('Cast', [scores], { to: { int: 1 } });
  let probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: { int: -1 } });
  if (dtype !== 'float32') probs = g.op('Cast', [probs], { to: { int: CAST_TO[dtype] } });
  const out = g.op('MatMul', [probs, g.op('Unsqueeze', [values, axis2])]);
  const merged = g.op('Reshape', [g.op('Transpose', [out], { perm: { ints: [0, 3, 1, 2, 4] } }), g.int64('shape', [2], [-1, Hq * D])]);
  return linear(g, merged, weights.linear(n.o, H, Hq * D));
}
