import { z } from 'zod';
import { InputError } from '../errors.ts';
import type { GraphBuilder } from '../onnx/GraphBuilder.ts';
import { bf16ToFloat32, float32ToHalf, halfToFloat32 } from '../onnx/floatFormats.ts';
import { blobBytes, blocksPerRow, quantizeRows, zeroPointBytesPerRow, type BlockLayout, type QuantBits } from './blockQuantize.ts';
import type { SafetensorsArchive } from './safetensors.ts';

export type FloatType = 'float32' | 'float16';

/** How a linear layer's weight appears in the graph. */
export type LinearWeight =
  | { kind: 'dense'; weight: string; out: number; in: number }
  | { kind: 'nbits'; weight: string; scales: string; zeroPoints: string; out: number; in: number; bits: QuantBits; blockSize: number; accuracyLevel: AccuracyLevel };

/**
 * MatMulNBits `accuracy_level`: the compute type onnxruntime may use for the activations. 0 = the
 * activations' own type (exactly the dequantized weights; on the CPU provider its 8-bit path is a
 * naive fallback, measured 53 ms for a 1024×4096 matrix against 0.12 ms at level 4); 4 = int8 compute
 * (activations quantized per block on the fly, the fast CPU kernels). GPU providers ignore it.
 */
export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

export const TensorQuantRuleSchema = z.object({ pattern: z.string().min(1), as: z.enum(['dense', 'int8', 'int4']) }).strict();
export type TensorQuantRule = z.infer<typeof TensorQuantRuleSchema>;

export interface WeightOptions {
  dtype: FloatType;
  quant?: { bits: QuantBits; blockSize: number; accuracyLevel?: AccuracyLevel };
  /**
   * Mixed precision under `quant`: per linear weight, the first rule whose pattern matches its tensor
   * name (`*` = any run of characters) says how it is stored instead (`dense` = the graph's float type).
   */
  tensorQuant?: readonly TensorQuantRule[];
  /** Source bytes read at once when streaming a matrix (rows are never split). */
  chunkBytes?: number;
  /** After each tensor is written (conversion is synchronous: this is where progress shows). */
  onTensor?: (written: number, name: string) => void;
}

/** What converting the weights met: fp16 overflow per tensor, and the largest buffers held at once. */
export interface WeightReport {
  tensors: number;
  /** Finite bf16 values that do not fit fp16 (they would become ±Infinity). */
  overflow: { name: string; count: number; maxAbs: number }[];
  /** Non-zero values that became 0 in fp16 (below its subnormal range). */
  underflow: number;
  /** The high-water mark of conversion buffers (source chunk + converted chunk + pending scales). */
  peakBufferBytes: number;
  weightBytes: number;
  /** Linear weights (lm_head included) by how they were stored. */
  linear: { dense: number; int8: number; int4: number };
}

const DEFAULT_CHUNK = 64 * 2 ** 20;

/**
 * Reads checkpoint tensors and writes them as graph initializers in the graph's float type, or as
 * MatMulNBits blocks, streaming large matrices by rows into the external data file: memory stays at
 * one chunk plus (for quantized matrices) the scales, never a whole tensor of a 68 GB model.
 */
export class DecoderWeights {
  readonly #archive: SafetensorsArchive;
  readonly #g: GraphBuilder;
  readonly #options: WeightOptions;
  readonly #cache = new Map<string, string>();
  readonly report: WeightReport = { tensors: 0, overflow: [], underflow: 0, peakBufferBytes: 0, weightBytes: 0, linear: { dense: 0, int8: 0, int4: 0 } };

  constructor(archive: SafetensorsArchive, g: GraphBuilder, options: WeightOptions) {
    this.#archive = archive;
    this.#g = g;
    this.#options = options;
    if (!g.externalData) throw new Error('DecoderWeights needs a GraphBuilder with external data');
  }

  /** A tensor of the expected shape in the graph's float type (embeddings, norm weights); one initializer per name. */
  float(name: string, shape: number[]): string {
    const known = this.#cache.get(name);
    if (known) return known;
    this.#expectShape(name, shape);
    const file = this.#g.externalData!;
    const rows = shape.length > 1 ? shape[0]! : 1;
    file.begin();
    this.#streamRows(name, rows, (values, count) => {
      const bytes = this.#encode(name, values);
      this.#note(values.byteLength * 1.5 + bytes.byteLength);
      file.write(bytes);
    });
    const init = this.#g.externalInitializer(shortName(name), this.#options.dtype, shape, file.end());
    this.#cache.set(name, init);
    this.#written(name);
    return init;
  }

  /** The weight's storage under the options' `quant` and `tensorQuant` rules; undefined = dense. */
  #quantOf(name: string): WeightOptions['quant'] {
    const base = this.#options.quant;
    if (!base) return undefined;
    const rule = this.#options.tensorQuant?.find((r) => globToRegExp(r.pattern).test(name));
    if (!rule) return base;
    return rule.as === 'dense' ? undefined : { ...base, bits: rule.as === 'int4' ? 4 : 8 };
  }

  /** A linear layer's `[out, in]` weight, dense or quantized per the options. */
  linear(name: string, out: number, inF: number, options: { quantize?: boolean } = {}): LinearWeight {
    const quant = options.quantize === false ? undefined : this.#quantOf(name);
    if (!quant) {
      this.report.linear.dense++;
      return { kind: 'dense', weight: this.float(name, [out, inF]), out, in: inF };
    }
    this.report.linear[quant.bits === 4 ? 'int4' : 'int8']++;
    this.#expectShape(name, [out, inF]);
    const layout: BlockLayout = { rows: out, cols: inF, bits: quant.bits, blockSize: quant.blockSize };
    const blocks = blocksPerRow(layout);
    const scales = new Float32Array(out * blocks);
    const zeroPoints = new Uint8Array(out * zeroPointBytesPerRow(layout));
    const file = this.#g.externalData!;
    const round = this.#options.dtype === 'float16' ? roundHalf : Math.fround;
    let row = 0;
    file.begin();
    this.#streamRows(name, out, (values, count) => {
      const q = quantizeRows(values, count, { ...layout, rows: count }, round);
      scales.set(q.scales, row * blocks);
      zeroPoints.set(q.zeroPoints, row * zeroPointBytesPerRow(layout));
      this.#note(values.byteLength * 1.5 + q.packed.byteLength + scales.byteLength + zeroPoints.byteLength);
      file.write(q.packed);
      row += count;
    });
    const weight = this.#g.externalInitializer(shortName(name), 'uint8', [out, blocks, blobBytes(layout)], file.end());
    const scaleInit = this.#g.initializer(`${shortName(name)}_scales`, this.#options.dtype, [out * blocks], this.#encode(name, scales));
    const zpInit = this.#g.initializer(`${shortName(name)}_zp`, 'uint8', [zeroPoints.length], zeroPoints);
    this.#written(name);
    return { kind: 'nbits', weight, scales: scaleInit, zeroPoints: zpInit, out, in: inF, bits: quant.bits, blockSize: quant.blockSize, accuracyLevel: quant.accuracyLevel ?? 4 };
  }

  #written(name: string): void {
    this.report.tensors++;
    this.#options.onTensor?.(this.report.tensors, name);
  }

  #expectShape(name: string, shape: number[]): void {
    const info = this.#archive.info(name);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new InputError('input_invalid', `checkpoint tensor ${name} is [${info.shape}], config.json implies [${shape}]`);
    }
    if (!['BF16', 'F16', 'F32'].includes(info.dtype)) throw new InputError('input_invalid', `checkpoint tensor ${name} is ${info.dtype}; expected BF16, F16 or F32`);
  }

  /** Calls `use` with consecutive whole rows as fp32, at most `chunkBytes` of source at a time. */
  #streamRows(name: string, rows: number, use: (values: Float32Array, count: number) => void): void {
    const info = this.#archive.info(name);
    const rowBytes = ((info.end - info.begin) / rows) | 0;
    const perChunk = Math.max(1, Math.floor((this.#options.chunkBytes ?? DEFAULT_CHUNK) / Math.max(rowBytes, 1)));
    for (let r = 0; r < rows; r += perChunk) {
      const count = Math.min(perChunk, rows - r);
      const raw = rows === 1 && info.shape.length <= 1 ? this.#archive.read(name) : this.#archive.readRows(name, r, count);
      use(toFloat32(raw, info.dtype), count);
    }
  }

  /** fp32 values → the graph's float type, counting what fp16 cannot hold. */
  #encode(name: string, values: Float32Array): Uint8Array {
    if (this.#options.dtype === 'float32') {
      this.report.weightBytes += values.byteLength;
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    }
    const half = float32ToHalf(values);
    if (half.overflow > 0) {
      const known = this.report.overflow.find((o) => o.name === name);
      if (known) {
        known.count += half.overflow;
        known.maxAbs = Math.max(known.maxAbs, half.maxAbs);
      } else this.report.overflow.push({ name, count: half.overflow, maxAbs: half.maxAbs });
    }
    this.report.underflow += half.underflow;
    this.report.weightBytes += half.bits.byteLength;
    return new Uint8Array(half.bits.buffer, half.bits.byteOffset, half.bits.byteLength);
  }

  #note(bytes: number): void {
    if (bytes > this.report.peakBufferBytes) this.report.peakBufferBytes = Math.round(bytes);
  }
}

function toFloat32(raw: Uint8Array, dtype: string): Float32Array {
  const aligned = raw.byteOffset % 4 === 0 ? raw : raw.slice();
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  return dtype === 'BF16' ? bf16ToFloat32(u16) : halfToFloat32(u16);
}

function roundHalf(x: number): number {
  return halfToFloat32(float32ToHalf(Float32Array.of(x)).bits)[0]!;
}

/** `model.layers.3.self_attn.q_proj.weight` → `l3_q_proj`: readable initializer names. */
function shortName(name: string): string {
  return name
    .replace(/^model\./, '')
    .replace(/^layers\.(\d+)\./, 'l$1_')
    .replace(/(self_attn|mlp)\./, '')
    .replace(/\.weight$/, '')
    .replace(/\./g, '_');
}

/** `model.layers.*.mlp.*` → a whole-name pattern; `*` is the only wildcard. */
function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
