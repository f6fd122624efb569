import { attentionBias } from '../../sdk/onnx/attentionBias.ts';
import { GraphBuilder } from '../../sdk/onnx/GraphBuilder.ts';
import { SeededRandom } from './seededRandom.ts';

export interface TinyDecoderShape {
  vocabSize: number;
  layers: number;
  queryHeads: number;
  kvHeads: number;
  headDim: number;
  hidden: number;
  seed: number;
  /** token id → value added to its logit. */
  logitBias: ReadonlyMap<number, number>;
  /** Adds the optional `key_positions` [B,T] input: attention masked by position id as well as by slot. */
  keyPositions?: boolean;
}

/** Modulus of the token hash; prime, above any vocabulary size, and id·a stays well inside int64. */
const HASH_MOD = 2147483647;

/**
 * A small pre-LayerNorm transformer decoder with a KV cache, in the I/O contract of `DecoderSpec`
 * (`input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key|value` → `logits`, `present.{i}.key|value`).
 *
 * Token and position embeddings are not tables but random sinusoidal features of the id, computed in the
 * graph (exact int64 hashing, then Sin); the LM head is the transpose of the token features (tied weights),
 * which ORT folds into a constant at load. The file therefore stays small even at a 282,926-token vocabulary.
 */
export function buildTinyDecoderGraph(shape: TinyDecoderShape): Uint8Array {
  const { vocabSize: V, layers, queryHeads: Hq, kvHeads: Hkv, headDim: D, hidden: H } = shape;
  const rng = new SeededRandom(shape.seed);
  const g = new GraphBuilder('tiny_decoder');

  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'total']);
  const pos = g.input('position_ids', 'int64', ['batch', 'seq']);
  const past = Array.from({ length: layers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch', Hkv, 'past', D]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch', Hkv, 'past', D]),
  }));

  g.declareOutput('logits', 'float32', ['batch', 'seq', V]);
  const tokenHash = hashParams(rng, H);
  let x = g.op('Add', [hashedFeatures(g, ids, tokenHash), hashedFeatures(g, pos, hashParams(rng, H))]);
  const order = shape.keyPositions ? { keyPositions: g.input('key_positions', 'int64', ['batch', 'total']), positionIds: pos } : undefined;
  const bias = attentionBias(g, ids, mask, past[0]!.key, order);

  for (let i = 0; i < layers; i++) {
    const attn = attention(g, rng, layerNorm(g, x, H), bias, past[i]!, i, { H, Hq, Hkv, D });
    x = g.op('Add', [x, attn]);
    x = g.op('Add', [x, mlp(g, rng, layerNorm(g, x, H), H)]);
  }

  // Tied head: logits = (LN(x)·Wh) · features(all ids)ᵀ; var(logit) ≈ H·0.5·H·σ² → σ² = 8/H² gives std ≈ 2.
  const u = g.op('MatMul', [layerNorm(g, x, H), g.float('w_head', [H, H], rng.normal(H * H, Math.sqrt(8) / H))]);
  const allIds = g.op('Range', [g.scalar('int64', 0), g.scalar('int64', V), g.scalar('int64', 1)]);
  const table = g.op('Transpose', [hashedFeatures(g, allIds, tokenHash)], { perm: { ints: [1, 0] } });
  let logits = g.op('MatMul', [u, table]);
  if (shape.logitBias.size > 0) logits = g.op('Add', [logits, logitBiasVector(g, V, shape.logitBias)]);
  g.op('Identity', [logits], {}, 'logits');
  return g.encode();
}

interface HashParams {
  mul: number[];
  add: number[];
}

function hashParams(rng: SeededRandom, width: number): HashParams {
  return {
    mul: Array.from({ length: width }, () => rng.int(1, HASH_MOD)),
    add: Array.from({ length: width }, () => rng.int(0, HASH_MOD)),
  };
}

/** int64 ids [...] → float32 [..., width] with entries √2·sin(2π·((a_k·id + b_k) mod m)/m): unit variance, distinct per id. */
function hashedFeatures(g: GraphBuilder, ids: string, p: HashParams): string {
  const width = p.mul.length;
  const col = g.op('Unsqueeze', [ids, g.int64('axis', [1], [-1])]);
  const mixed = g.op('Add', [g.op('Mul', [col, g.int64('hash_mul', [width], p.mul)]), g.int64('hash_add', [width], p.add)]);
  const phase = g.op('Cast', [g.op('Mod', [mixed, g.scalar('int64', HASH_MOD)])], { to: { int: 1 } });
  const angle = g.op('Mul', [phase, g.scalar('float32', (2 * Math.PI) / HASH_MOD)]);
  return g.op('Mul', [g.op('Sin', [angle]), g.scalar('float32', Math.SQRT2)]);
}

interface AttnDims {
  H: number;
  Hq: number;
  Hkv: number;
  D: number;
}

/** GQA: queries grouped as [B,Hkv,G,S,D] so each KV head broadcasts over its G query heads without copies. */
function attention(
  g: GraphBuilder,
  rng: SeededRandom,
  h: string,
  bias: string,
  past: { key: string; value: string },
  layer: number,
  { H, Hq, Hkv, D }: AttnDims,
): string {
  const G = Hq / Hkv;
  const proj = (name: string, out: number, std: number) => g.float(name, [H, out], rng.normal(H * out, std));
  const q = g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [h, proj('wq', Hq * D, 1 / Math.sqrt(H))]), g.int64('shape', [5], [0, 0, Hkv, G, D])])], {
    perm: { ints: [0, 2, 3, 1, 4] },
  });
  const heads = (w: string) => g.op('Transpose', [g.op('Reshape', [g.op('MatMul', [h, w]), g.int64('shape', [4], [0, 0, Hkv, D])])], { perm: { ints: [0, 2, 1, 3] } });
  const keys = g.op('Concat', [past.key, heads(proj('wk', Hkv * D, 1 / Math.sqrt(H)))], { axis: { int: 2 } }, `present.${layer}.key`);
  const values = g.op('Concat', [past.value, heads(proj('wv', Hkv * D, 1 / Math.sqrt(H)))], { axis: { int: 2 } }, `present.${layer}.value`);
  markOutput(g, keys, Hkv, D);
  markOutput(g, values, Hkv, D);

  const axis2 = g.int64('axis', [1], [2]);
  const kT = g.op('Unsqueeze', [g.op('Transpose', [keys], { perm: { ints: [0, 1, 3, 2] } }), axis2]);
  const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, kT]), g.scalar('float32', 1 / Math.sqrt(D))]), bias]);
  const probs = g.op('Softmax', [scores], { axis: { int: -1 } });
  const ctx = g.op('MatMul', [probs, g.op('Unsqueeze', [values, axis2])]);
  const merged = g.op('Reshape', [g.op('Transpose', [ctx], { perm: { ints: [0, 3, 1, 2, 4] } }), g.int64('shape', [3], [0, 0, Hq * D])]);
  return g.op('MatMul', [merged, g.float('wo', [Hq * D, H], rng.normal(Hq * D * H, 1 / Math.sqrt(Hq * D)))]);
}

/** The present.* tensors are produced by the Concat nodes themselves; only their ValueInfo is declared. */
function markOutput(g: GraphBuilder, name: string, Hkv: number, D: number): void {
  g.declareOutput(name, 'float32', ['batch', Hkv, 'total', D]);
}

/** SiLU MLP, 4× width. */
function mlp(g: GraphBuilder, rng: SeededRandom, h: string, H: number): string {
  const up = g.op('MatMul', [h, g.float('w_up', [H, 4 * H], rng.normal(4 * H * H, 1 / Math.sqrt(H)))]);
  const act = g.op('Mul', [up, g.op('Sigmoid', [up])]);
  return g.op('MatMul', [act, g.float('w_down', [4 * H, H], rng.normal(4 * H * H, 1 / Math.sqrt(4 * H)))]);
}

function layerNorm(g: GraphBuilder, x: string, H: number): string {
  return g.op('LayerNormalization', [x, g.float('ln_scale', [H], new Float32Array(H).fill(1))], { axis: { int: -1 }, epsilon: { float: 1e-5 } });
}

function logitBiasVector(g: GraphBuilder, V: number, bias: ReadonlyMap<number, number>): string {
  const zeros = g.op('ConstantOfShape', [g.int64('vocab', [1], [V])]);
  const ids = [...bias.keys()];
  return g.op('ScatterND', [zeros, g.int64('bias_ids', [ids.length, 1], ids), g.float('bias_values', [ids.length], ids.map((id) => bias.get(id)!))]);
}
