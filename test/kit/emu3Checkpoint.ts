import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emu3Names } from '../../sdk/convert/emu3Config.ts';
import { writeSafetensors, type TensorToWrite } from '../../sdk/convert/safetensors.ts';
import { SeededRandom } from './seededRandom.ts';

/** The `config.json` a tiny checkpoint carries: the official `Emu3Config` fields, small sizes. */
export interface TinyEmu3Config {
  architectures: string[];
  model_type: 'Emu3';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  hidden_act: 'silu';
  max_position_embeddings: number;
  initializer_range: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: { type: 'linear' | 'dynamic'; factor: number } | null;
  attention_dropout: number;
  pretraining_tp: number;
  tie_word_embeddings: boolean;
  use_cache: boolean;
  image_area: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  img_token_id: number;
  boi_token_id: number;
  eoi_token_id: number;
  eol_token_id: number;
  eof_token_id: number;
  torch_dtype: 'bfloat16' | 'float32';
  [extra: string]: unknown;
}

export interface TinyEmu3CheckpointOptions {
  /** Merged over the defaults (a `vocab_size` override moves the default token ids with it). */
  config?: Partial<TinyEmu3Config>;
  /** Seed of the weights (default 0). */
  seed?: number;
  /** 1: a single `model.safetensors`; more: `model-0000k-of-0000n.safetensors` + the index (default 2). */
  shards?: number;
  /** Storage dtype of every tensor (default 'BF16', as released). */
  dtype?: 'BF16' | 'F32';
  /**
   * Writes one element of one tensor as a value beyond fp16's range (|x| > 65504), so a converter's
   * overflow report can be tested. Defaults: layer 0's `mlp.up_proj.weight`, element 0, 1e5 (bf16
   * stores 99840). The reference logits then are of little use; this is for the converter's report.
   */
  huge?: { tensor?: string; index?: number; value?: number };
}

export interface TinyEmu3Checkpoint {
  dir: string;
  config: TinyEmu3Config;
  /** Tensor name → shape, in the order written. */
  tensors: { name: string; shape: number[] }[];
  /** Safetensors files written (relative to `dir`). */
  files: string[];
}

/** Default config: head_dim 32 differs from hidden/heads (16), as in Emu3.5 (5120 hidden, 64 × 128 heads). */
export function tinyEmu3Config(overrides: Partial<TinyEmu3Config> = {}): TinyEmu3Config {
  const vocab = overrides.vocab_size ?? 300;
  // Token ids at the top of the vocabulary, in the official order (pad < eol < eof < bos < eos < img < boi < eoi).
  const top = (k: number) => vocab - 9 + k;
  const config: TinyEmu3Config = {
    architectures: ['Emu3ForCausalLM'],
    model_type: 'Emu3',
    vocab_size: vocab,
    hidden_size: 64,
    intermediate_size: 160,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 32,
    hidden_act: 'silu',
    max_position_embeddings: 256,
    initializer_range: 0.02,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    attention_dropout: 0.1,
    pretraining_tp: 1,
    tie_word_embeddings: false,
    use_cache: true,
    image_area: 720 * 720,
    pad_token_id: top(0),
    eol_token_id: top(1),
    eof_token_id: top(2),
    bos_token_id: top(3),
    eos_token_id: top(4),
    img_token_id: top(5),
    boi_token_id: top(6),
    eoi_token_id: top(7),
    torch_dtype: 'bfloat16',
    ...overrides,
  };
  for (const key of ['pad', 'bos', 'eos', 'img', 'boi', 'eoi', 'eol', 'eof'] as const) {
    const id = config[`${key}_token_id`];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocab_size) throw new RangeError(`${key}_token_id ${id} is outside the vocabulary [0, ${config.vocab_size})`);
  }
  return config;
}

/** Round-to-nearest-even float32 → bf16 bits (NaN stays a quiet NaN). */
export function float32ToBf16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0) out[i] = (b >>> 16) | 0x0040;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/**
 * JSON as Python will read it: a float field that happens to be integral (`rope_scaling.factor: 2`)
 * is written `2.0`, because the official `_rope_scaling_validation` rejects an int factor.
 */
function configJson(config: TinyEmu3Config): string {
  const text = JSON.stringify(config, null, 2);
  return `${text.replace(/("factor": )(-?\d+)(,?\n)/, '$1$2.0$3')}\n`;
}

/**
 * Writes a tiny random Emu3.5 decoder in the released Hugging Face layout: `config.json`, bf16
 * safetensors under the official tensor names (sharded with `model.safetensors.index.json` unless
 * `shards: 1`). Weights come from a seeded RNG, scaled so the logits have a std of about 1-3 and
 * every norm weight is random around 1 (no norm is the identity).
 */
export function writeTinyEmu3Checkpoint(dir: string, options: TinyEmu3CheckpointOptions = {}): TinyEmu3Checkpoint {
  const config = tinyEmu3Config(options.config);
  const dtype = options.dtype ?? 'BF16';
  config.torch_dtype = dtype === 'BF16' ? 'bfloat16' : 'float32';
  const rng = new SeededRandom(options.seed ?? 0);
  const { hidden_size: h, intermediate_size: inter, num_attention_heads: heads, num_key_value_heads: kv, head_dim: hd, vocab_size: vocab } = config;

  const values: { name: string; shape: number[]; data: Float32Array }[] = [];
  const normal = (name: string, shape: number[], std: number) => values.push({ name, shape, data: rng.normal(shape.reduce((a, b) => a * b, 1), std) });
  const linear = (name: string, out: number, inF: number, gain: number) => normal(name, [out, inF], gain / Math.sqrt(inF));
  const norm = (name: string, n: number) => {
    const data = rng.normal(n, 0.2);
    for (let i = 0; i < n; i++) data[i] = 1 + data[i]!;
    values.push({ name, shape: [n], data });
  };

  normal(emu3Names.embed, [vocab, h], 1);
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const n = emu3Names.layer(i);
    linear(n.q, heads * hd, h, 1);
    linear(n.k, kv * hd, h, 1);
    linear(n.v, kv * hd, h, 1);
    linear(n.o, h, heads * hd, 0.7);
    norm(n.qNorm, hd);
    norm(n.kNorm, hd);
    linear(n.gate, inter, h, 1);
    linear(n.up, inter, h, 1);
    linear(n.down, h, inter, 0.7);
    norm(n.inputNorm, h);
    norm(n.postNorm, h);
  }
  norm(emu3Names.norm, h);
  // The final norm leaves each row with RMS ≈ 1, so lm_head std 2/sqrt(h) gives logits of std ≈ 2.
  if (!config.tie_word_embeddings) linear(emu3Names.lmHead, vocab, h, 2);

  if (options.huge) {
    const target = options.huge.tensor ?? emu3Names.layer(0).up;
    const entry = values.find((v) => v.name === target);
    if (!entry) throw new RangeError(`huge: no tensor ${target}`);
    const index = options.huge.index ?? 0;
    if (index < 0 || index >= entry.data.length) throw new RangeError(`huge: index ${index} outside ${target} (${entry.data.length} values)`);
    const value = options.huge.value ?? 1e5;
    entry.data[index] = value;
  }

  const tensors: TensorToWrite[] = values.map(({ name, shape, data }) => {
    const bytes = dtype === 'BF16' ? float32ToBf16(data) : data;
    return { name, dtype, shape, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  });

  const shards = options.shards ?? 2;
  if (!Number.isInteger(shards) || shards < 1 || shards > tensors.length) throw new RangeError(`shards ${shards} must be an integer in [1, ${tensors.length}]`);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  if (shards === 1) {
    files.push('model.safetensors');
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  } else {
    const weightMap: Record<string, string> = {};
    const pad = (k: number) => String(k).padStart(5, '0');
    let totalSize = 0;
    for (let s = 0; s < shards; s++) {
      const part = tensors.slice(Math.floor((s * tensors.length) / shards), Math.floor(((s + 1) * tensors.length) / shards));
      const file = `model-${pad(s + 1)}-of-${pad(shards)}.safetensors`;
      writeSafetensors(path.join(dir, file), part, { format: 'pt' });
      files.push(file);
      for (const t of part) {
        weightMap[t.name] = file;
        totalSize += t.data.byteLength;
      }
    }
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`);
  }
  writeFileSync(path.join(dir, 'config.json'), configJson(config));
  return { dir, config, tensors: values.map(({ name, shape }) => ({ name, shape })), files };
}
