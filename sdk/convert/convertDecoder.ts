import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.ts';
import { ModelManifestSchema, type DecoderSpec, type ModelManifestInput } from '../model/ModelManifest.ts';
import { ExternalDataFile } from '../onnx/ExternalDataFile.ts';
import { GraphBuilder } from '../onnx/GraphBuilder.ts';
import { writeFileAtomicSync } from '../output/outputFolder.ts';
import { DecoderWeights, type AccuracyLevel, type FloatType, type TensorQuantRule, type WeightReport } from './DecoderWeights.ts';
import { emu3Names, readEmu3Config, type Emu3Config } from './emu3Config.ts';
import { buildEmu3Decoder, emu3Io, type KvCacheLayout } from './emu3DecoderGraph.ts';
import { SafetensorsArchive } from './safetensors.ts';

export const DEFAULT_MANIFEST_TEMPLATE = fileURLToPath(new URL('../../models/emu35/emu-model.json', import.meta.url));

export interface ConvertDecoderOptions {
  /** A Hugging Face folder: `config.json` + safetensors (sharded with an index, or one file). */
  from: string;
  /** The model folder to write (created if needed). */
  to: string;
  dtype?: FloatType;
  quant?: 'int8' | 'int4';
  blockSize?: 16 | 32 | 64 | 128;
  /** With `quant`: mixed precision, per-tensor rules (`TensorQuantRule`), e.g. `[{ pattern: 'lm_head.weight', as: 'dense' }]`. */
  tensorQuant?: TensorQuantRule[];
  /** MatMulNBits accuracy_level (see `AccuracyLevel`); default 4, the CPU provider's fast int8-compute kernels. */
  accuracyLevel?: AccuracyLevel;
  /** KV layout (`DecoderSpec.kvCache`): `shared` appends in place through GroupQueryAttention. Default `concat`. */
  kvCache?: KvCacheLayout;
  /**
   * `emu-model.json` to start from: its tokenizer, templates and presets are kept, its decoder
   * section is rewritten from config.json. Default: the folder's own, else the shipped Emu3.5 one.
   * `null`: write no manifest (the graph alone).
   */
  manifest?: string | null;
  /** Source bytes read at once when streaming a matrix. */
  chunkBytes?: number;
  onProgress?: (p: { phase: 'hash' | 'convert' | 'write'; done: number; total: number; name?: string }) => void;
}

export interface ConvertDecoderResult {
  decoderFile: string;
  dataFile: string;
  spec: DecoderSpec;
  config: Emu3Config;
  report: WeightReport & { seconds: number; maxRssBytes: number; graphBytes: number; dataBytes: number };
  /** Written manifest path, when one was written. */
  manifestFile?: string;
  /** Tensors in the checkpoint the decoder does not use (reported, not fatal). */
  unused: string[];
}

/**
 * `emu convert decoder`: released Emu3.5 weights → the SDK's decoder graph with external data,
 * one tensor (or row chunk) at a time. The manifest's decoder section comes from the same config,
 * so they cannot disagree; `convert.json` records the sources' hashes and the options.
 */
export function convertDecoder(options: ConvertDecoderOptions): ConvertDecoderResult {
  const started = performance.now();
  const dtype = options.dtype ?? 'float32';
  const config = readEmu3Config(options.from);
  const archive = SafetensorsArchive.open(options.from);
  const unused = checkNames(archive, config);
  const quant = options.quant ? { bits: options.quant === 'int4' ? (4 as const) : (8 as const), blockSize: options.blockSize ?? 32, accuracyLevel: options.accuracyLevel ?? 4 } : undefined;
  const template = readTemplate(options, config);

  mkdirSync(options.to, { recursive: true });
  const decoderFile = path.join(options.to, 'decoder.onnx');
  const dataFile = `${decoderFile}.data`;
  const sources = hashSources(options, archive.files);

  const external = new ExternalDataFile(dataFile);
  const partialGraph = `${decoderFile}.partial`;
  let report: WeightReport;
  let graphBytes: number;
  try {
    const g = new GraphBuilder('emu3_decoder', { external: { file: external, minBytes: 4096 } });
    const total = archive.names.length - unused.length;
    const onTensor = (done: number, name: string) => options.onProgress?.({ phase: 'convert', done, total, name });
    const weights = new DecoderWeights(archive, g, { dtype, quant, ...(options.tensorQuant?.length ? { tensorQuant: options.tensorQuant } : {}), chunkBytes: options.chunkBytes, onTensor });
    buildEmu3Decoder(g, config, weights, dtype, options.kvCache ?? 'concat');
    options.onProgress?.({ phase: 'write', done: 0, total: 1 });
    const bytes = g.encode(17, 'emu-robotics convert');
    graphBytes = bytes.byteLength;
    writeFileSync(partialGraph, bytes);
    external.commit();
    renameSync(partialGraph, decoderFile);
    report = weights.report;
  } catch (err) {
    rmSync(external.abandon(), { force: true });
    rmSync(partialGraph, { force: true });
    throw err;
  }

  const spec: DecoderSpec = {
    file: 'decoder.onnx',
    numLayers: config.num_hidden_layers,
    numKvHeads: config.num_key_value_heads,
    headDim: config.head_dim,
    dtype,
    kvCache: options.kvCache ?? 'concat',
    ...(quant ? { quantization: { method: 'MatMulNBits', bits: quant.bits, blockSize: quant.blockSize as 16 | 32 | 64 | 128, accuracyLevel: quant.accuracyLevel } } : {}),
    maxPositions: config.max_position_embeddings,
    io: emu3Io(options.kvCache ?? 'concat'),
  };
  const manifestFile = template ? writeManifest(options, template, spec) : undefined;
  const seconds = (performance.now() - started) / 1000;
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const fullReport = { ...report, seconds, maxRssBytes, graphBytes, dataBytes: statSync(dataFile).size };
  recordConversion(options.to, 'decoder', {
    from: path.resolve(options.from),
    sources,
    options: { dtype, quant: options.quant ?? null, blockSize: quant?.blockSize ?? null, accuracyLevel: quant?.accuracyLevel ?? null, tensorQuant: quant ? (options.tensorQuant ?? []) : [], kvCache: options.kvCache ?? 'concat' },
    config: { layers: config.num_hidden_layers, hidden: config.hidden_size, heads: config.num_attention_heads, kvHeads: config.num_key_value_heads, headDim: config.head_dim, vocab: config.vocab_size },
    report: fullReport,
    unused,
    date: new Date().toISOString(),
  });
  return { decoderFile, dataFile, spec, config, report: fullReport, manifestFile, unused };
}

/** Every tensor the official modules define must be there; anything else is listed, not fatal. */
function checkNames(archive: SafetensorsArchive, config: Emu3Config): string[] {
  const needed = [emu3Names.embed, emu3Names.norm];
  if (!config.tie_word_embeddings) needed.push(emu3Names.lmHead);
  for (let i = 0; i < config.num_hidden_layers; i++) needed.push(...Object.values(emu3Names.layer(i)));
  const missing = needed.filter((n) => !archive.has(n));
  if (missing.length > 0) {
    throw new InputError('input_invalid', `the checkpoint lacks ${missing.length} tensor(s) the official Emu3 modules define, e.g. ${missing.slice(0, 3).join(', ')}`);
  }
  const set = new Set(needed);
  return archive.names.filter((n) => !set.has(n) && !(config.tie_word_embeddings && n === emu3Names.lmHead));
}

function readTemplate(options: ConvertDecoderOptions, config: Emu3Config): ModelManifestInput | undefined {
  if (options.manifest === null) return undefined;
  const own = path.join(options.to, 'emu-model.json');
  const file = options.manifest ?? (existsSync(own) ? own : DEFAULT_MANIFEST_TEMPLATE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError('input_invalid', `cannot read the manifest template ${file}: ${(err as Error).message}`);
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) throw new InputError('input_invalid', `${file} is not a valid emu-model.json: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  if (parsed.data.vocab.size !== config.vocab_size) {
    throw new InputError('input_invalid', `${file} has vocab.size ${parsed.data.vocab.size} but config.json has vocab_size ${config.vocab_size}: pass --manifest with a matching emu-model.json (or --no-manifest)`);
  }
  return raw as ModelManifestInput;
}

function writeManifest(options: ConvertDecoderOptions, template: ModelManifestInput, spec: DecoderSpec): string {
  const manifest = { ...template, decoder: spec };
  ModelManifestSchema.parse(manifest);
  const file = path.join(options.to, 'emu-model.json');
  writeFileAtomicSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  // The ranks file travels with the released decoder; copy it when the model folder lacks it.
  const ranks = template.tokenizer.ranks;
  const target = path.join(options.to, ranks);
  const candidates = [path.join(options.from, ranks), ...(options.manifest ? [path.join(path.dirname(options.manifest), ranks)] : [])];
  const source = candidates.find((c) => existsSync(c));
  if (!existsSync(target) && source) copyFileSync(source, target);
  return file;
}

function hashSources(options: ConvertDecoderOptions, shards: string[]): { file: string; bytes: number; sha256: string }[] {
  const files = [path.join(options.from, 'config.json'), ...shards];
  const index = path.join(options.from, 'model.safetensors.index.json');
  if (existsSync(index)) files.splice(1, 0, index);
  const total = files.reduce((a, f) => a + statSync(f).size, 0);
  let done = 0;
  return files.map((file) => {
    const hash = createHash('sha256');
    const fd = openSync(file, 'r');
    const buffer = Buffer.alloc(8 * 2 ** 20);
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) {
        hash.update(buffer.subarray(0, n));
        done += n;
        options.onProgress?.({ phase: 'hash', done, total, name: path.basename(file) });
      }
    } finally {
      closeSync(fd);
    }
    return { file: path.basename(file), bytes: statSync(file).size, sha256: hash.digest('hex') };
  });
}

/** Read-modify-write of `convert.json`: the vision converter keeps its own key beside this one. */
export function recordConversion(dir: string, key: string, record: unknown): void {
  const file = path.join(dir, 'convert.json');
  let current: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      current = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
  }
  writeFileAtomicSync(file, `${JSON.stringify({ ...current, [key]: record }, null, 2)}\n`);
}
