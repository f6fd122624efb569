/**
 * `emu model check DIR` / `emu doctor`: is this model folder usable here, and on which execution
 * providers? Every check that fails becomes a problem with its fix; nothing stops at the first one.
 *
 * - The manifest against its schema, the files it names, the tokenizer against the vocabulary layout
 *   (`checkConsistency`, the same check `loadManifest` runs).
 * - The graphs opened on CPU exactly as the engine opens them (`DecoderSession.openSession`,
 *   `VisionTokenizer.open`, both through `checkSessionIo`). When the decoder check fails, the graph's
 *   own layers, KV heads, head dim, vocabulary and dtype are read from its I/O metadata to say which
 *   manifest field is wrong and what it should be.
 * - The graph structure (initializer sizes, external data files, `com.microsoft` MatMulNBits nodes)
 *   from the protobuf alone (onnx-proto): external data files are only stat'ed, never read.
 * - Execution providers that would really run here: CPU; CUDA (provider library in onnxruntime-node,
 *   CUDA 12 / cuDNN 9 libraries the loader can find, a GPU device, then a real session in a child
 *   process); WebGPU (in the build, a Vulkan loader and ICD, then a real session).
 * - A memory estimate (sdk/model/memoryEstimate.ts) from what the graph says.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { z } from 'zod';
import { GraphBuilder } from '../onnx/GraphBuilder.ts';
import { checkConsistency, MANIFEST_FILE, resolveModelPath } from './loadManifest.ts';
import { ModelManifestSchema, type DecoderSpec, type ModelManifest } from './ModelManifest.ts';
import { estimateMemory, MemoryEstimateSchema } from './memoryEstimate.ts';

const { onnx } = onnxProto;

// ---------------------------------------------------------------------------------------------
// Report schema (the `--json` output)
// ---------------------------------------------------------------------------------------------

export const ProblemSchema = z.object({
  area: z.enum(['manifest', 'files', 'decoder', 'vision', 'tokenizer']),
  message: z.string(),
  fix: z.string(),
});
export type Problem = z.infer<typeof ProblemSchema>;

export const WarningSchema = z.object({ message: z.string(), fix: z.string().nullable() });
export type Warning = z.infer<typeof WarningSchema>;

export const ProviderCheckSchema = z.object({ check: z.string(), ok: z.boolean(), detail: z.string() });
export const ProviderStatusSchema = z.object({
  name: z.enum(['cpu', 'cuda', 'webgpu']),
  available: z.boolean(),
  /** Why not, when not available: one line per failing check. */
  reasons: z.array(z.string()),
  /** Commands (or steps) that fix the failing checks, in order. */
  fixes: z.array(z.string()),
  checks: z.array(ProviderCheckSchema),
});
export type ProviderStatus = z.infer<typeof ProviderStatusSchema>;

export const GraphStructureSchema = z.object({
  file: z.string(),
  /** Bytes of all initializers: embedded ones plus the external data files they point into. */
  weightsBytes: z.number().int().nonnegative(),
  embeddedBytes: z.number().int().nonnegative(),
  externalData: z.array(z.object({ file: z.string(), bytes: z.number().int().nonnegative().nullable() })),
  nodes: z.number().int().nonnegative(),
  matMulNBits: z.object({ nodes: z.number().int().nonnegative(), bits: z.array(z.number().int()), blockSizes: z.array(z.number().int()) }),
  /** com.microsoft GroupQueryAttention nodes: the graph appends to a shared past/present buffer. */
  groupQueryAttention: z.number().int().nonnegative(),
});
export type GraphStructure = z.infer<typeof GraphStructureSchema>;

export const DecoderFactsSchema = z.object({
  file: z.string(),
  /** Read from the graph's I/O (past key inputs, their dims, the logits' last dim). */
  layers: z.number().int().nullable(),
  kvHeads: z.number().int().nullable(),
  headDim: z.number().int().nullable(),
  vocab: z.number().int().nullable(),
  dtype: z.string().nullable(),
  /** The manifest's KV layout (concat | shared), checked against the graph's GroupQueryAttention nodes. */
  kvCache: z.enum(['concat', 'shared']),
  /** The graph's logits_to_keep input when the manifest names it and the graph has it. */
  logitsToKeep: z.string().nullable(),
  /** Graph inputs the engine would not feed. */
  extraInputs: z.array(z.string()),
  structure: GraphStructureSchema.nullable(),
});
export type DecoderFacts = z.infer<typeof DecoderFactsSchema>;

export const ModelCheckReportSchema = z.object({
  dir: z.string(),
  /** No problems: the folder loads and runs on CPU. */
  usable: z.boolean(),
  manifest: z.object({ name: z.string(), version: z.string() }).nullable(),
  decoder: DecoderFactsSchema.nullable(),
  vision: z
    .object({
      ok: z.boolean(),
      downsample: z.number().int(),
      encoder: GraphStructureSchema.nullable(),
      decoder: GraphStructureSchema.nullable(),
    })
    .nullable(),
  tokenizer: z
    .object({ file: z.string(), ranks: z.number().int(), specialTokens: z.number().int(), visualTokens: z.number().int(), vocabSize: z.number().int() })
    .nullable(),
  providers: z.array(ProviderStatusSchema),
  memory: MemoryEstimateSchema.extend({ decoderWeightsBytes: z.number(), visionWeightsBytes: z.number(), machineBytes: z.number(), prefillChunk: z.number().int() }).nullable(),
  problems: z.array(ProblemSchema),
  warnings: z.array(WarningSchema),
});
export type ModelCheckReport = z.infer<typeof ModelCheckReportSchema>;

export interface CheckModelOptions {
  /** Context length for the memory estimate. @default 4096 */
  context?: number;
  /** KV caches held at once (CFG: conditional + unconditional). @default 2 */
  streams?: number;
  /** Skip the child-process session probes of GPU providers (static checks only). */
  skipLiveProbes?: boolean;
  /** The onnxruntime-node package folder to inspect. @default the one this package resolves */
  ortDir?: string;
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

export async function checkModel(modelDir: string, options: CheckModelOptions = {}): Promise<ModelCheckReport> {
  const dir = path.resolve(modelDir);
  const context = options.context ?? 4096;
  const streams = options.streams ?? 2;
  const problems: Problem[] = [];
  const warnings: Warning[] = [];
  const report: ModelCheckReport = {
    dir,
    usable: false,
    manifest: null,
    decoder: null,
    vision: null,
    tokenizer: null,
    providers: [],
    memory: null,
    problems,
    warnings,
  };

  const manifest = await readManifest(dir, problems);
  if (manifest) {
    report.manifest = { name: manifest.name, version: manifest.version };
    const files = checkFiles(dir, manifest, problems);
    if (files.ranks) report.tokenizer = await checkTokenizer(dir, manifest, problems);
    if (files.decoder) report.decoder = await checkDecoder(dir, manifest, problems, warnings);
    if (files.encoder && files.visionDecoder) report.vision = await checkVision(dir, manifest, problems);
    const { PREFILL_CHUNK } = await import('../runtime/DecoderSession.ts');
    report.memory = memoryOf(report, manifest, context, streams, PREFILL_CHUNK);
    if (report.memory && report.memory.totalBytes > report.memory.machineBytes) {
      warnings.push({
        message: `the estimate (${gb(report.memory.totalBytes)}) exceeds this machine's memory (${gb(report.memory.machineBytes)}) at context ${context} × ${streams} streams`,
        fix: `a smaller --context, a quantized export (emu convert decoder --quant int4), or a bigger host`,
      });
    }
  }
  report.providers = probeProviders({ ortDir: options.ortDir, skipLiveProbes: options.skipLiveProbes });
  report.usable = problems.length === 0;
  return ModelCheckReportSchema.parse(report);
}

async function readManifest(dir: string, problems: Problem[]): Promise<ModelManifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    const hint = existsSync(dir) ? `write ${MANIFEST_FILE} there (see models/emu35/emu-model.json for the real Emu3.5, or build one with 'emu convert decoder')` : `check the path: ${dir} does not exist`;
    problems.push({ area: 'manifest', message: `no ${MANIFEST_FILE} in ${dir}`, fix: hint });
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    problems.push({ area: 'manifest', message: `${file} is not valid JSON: ${(err as Error).message}`, fix: `fix the JSON syntax in ${file}` });
    return undefined;
  }
  const r = ModelManifestSchema.safeParse(json);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const at = issue.path.map(String).join('.') || '(root)';
      problems.push({ area: 'manifest', message: `${MANIFEST_FILE} ${at}: ${issue.message}`, fix: `edit '${at}' in ${file} (schema: sdk/model/ModelManifest.ts)` });
    }
    return undefined;
  }
  return r.data;
}

interface FilePresence {
  ranks: boolean;
  decoder: boolean;
  encoder: boolean;
  visionDecoder: boolean;
}

function checkFiles(dir: string, m: ModelManifest, problems: Problem[]): FilePresence {
  const one = (rel: string, field: string, what: string): boolean => {
    let file: string;
    try {
      file = resolveModelPath(dir, rel);
    } catch (err) {
      problems.push({ area: 'files', message: (err as Error).message, fix: `make ${field} a path inside ${dir} (link the file in with ln -s)` });
      return false;
    }
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) return true;
    problems.push({
      area: 'files',
      message: `${what} file ${field} = '${rel}' is missing: ${file}`,
      fix: `put the ${what} file at ${file} (ln -s /path/to/${path.basename(rel)} ${file}), or point ${field} in ${MANIFEST_FILE} at the right file`,
    });
    return false;
  };
  return {
    ranks: one(m.tokenizer.ranks, 'tokenizer.ranks', 'tokenizer ranks (tiktoken)'),
    decoder: one(m.decoder.file, 'decoder.file', 'decoder ONNX'),
    encoder: one(m.vision.encoder, 'vision.encoder', 'vision encoder ONNX'),
    visionDecoder: one(m.vision.decoder, 'vision.decoder', 'vision decoder ONNX'),
  };
}

async function checkTokenizer(dir: string, m: ModelManifest, problems: Problem[]): Promise<ModelCheckReport['tokenizer']> {
  const file = resolveModelPath(dir, m.tokenizer.ranks);
  const { TiktokenTokenizer } = await import('../tokenizer/TiktokenTokenizer.ts');
  let tok: Awaited<ReturnType<typeof TiktokenTokenizer.fromManifest>>;
  try {
    tok = await TiktokenTokenizer.fromManifest(m, dir);
  } catch (err) {
    problems.push({ area: 'tokenizer', message: `the tokenizer does not load: ${(err as Error).message}`, fix: `replace ${file} with a tiktoken ranks file ('base64(token) rank' per line) that matches ${MANIFEST_FILE}` });
    return null;
  }
  let consistent = true;
  try {
    checkConsistency(m, tok.rankCount);
  } catch (err) {
    consistent = false;
    problems.push({ area: 'tokenizer', message: (err as Error).message, fix: `make tokenizer.specialStart, vocab.visualOffset, vocab.codebookSize and vocab.ids in ${MANIFEST_FILE} agree with the ${tok.rankCount} ranks of ${path.basename(file)}` });
  }
  // Every role id names the special token the manifest lists at that id, and the visual block starts at visualOffset.
  for (const [role, id] of Object.entries(m.vocab.ids)) {
    if (id === undefined) continue;
    if (id >= m.vocab.size) problems.push({ area: 'tokenizer', message: `vocab.ids.${role} = ${id} is outside the vocabulary (size ${m.vocab.size})`, fix: `set vocab.ids.${role} to the id of its special token` });
  }
  const visual0 = tok.tokenToId(m.tokenizer.visualTokenFormat.replace(/%0?(\d*)d/, (_, w: string) => '0'.padStart(Number(w || 1), '0')));
  if (m.vocab.codebookSize > 0 && visual0 !== m.vocab.visualOffset) {
    problems.push({ area: 'tokenizer', message: `visual token 0 encodes to ${visual0}, not vocab.visualOffset ${m.vocab.visualOffset}`, fix: `check tokenizer.visualTokenFormat and vocab.visualOffset in ${MANIFEST_FILE}` });
  }
  if (consistent && tok.vocabSize !== m.vocab.size) {
    problems.push({ area: 'tokenizer', message: `the tokenizer's vocabulary is ${tok.vocabSize} tokens (${tok.rankCount} ranks + ${m.tokenizer.specialTokens.length} special + ${m.vocab.codebookSize} visual), vocab.size says ${m.vocab.size}`, fix: `make vocab.size = visualOffset + codebookSize in ${MANIFEST_FILE}` });
  }
  return { file: path.basename(file), ranks: tok.rankCount, specialTokens: m.tokenizer.specialTokens.length, visualTokens: m.vocab.codebookSize, vocabSize: tok.vocabSize };
}

async function checkDecoder(dir: string, m: ModelManifest, problems: Problem[], warnings: Warning[]): Promise<DecoderFacts> {
  const file = resolveModelPath(dir, m.decoder.file);
  const spec = m.decoder;
  const facts: DecoderFacts = { file: m.decoder.file, layers: null, kvHeads: null, headDim: null, vocab: null, dtype: null, kvCache: m.decoder.kvCache, logitsToKeep: null, extraInputs: [], structure: null };
  try {
    facts.structure = await readGraphStructure(file);
  } catch (err) {
    problems.push({ area: 'decoder', message: `${m.decoder.file} is not a readable ONNX model: ${(err as Error).message}`, fix: `re-export the decoder (emu convert decoder --from HF_DIR --to ${dir})` });
    return facts;
  }
  for (const ext of facts.structure.externalData) {
    if (ext.bytes === null) problems.push({ area: 'files', message: `${m.decoder.file} keeps weights in '${ext.file}', which is missing beside it`, fix: `put ${ext.file} beside ${file} (the export writes it next to the graph)` });
  }
  checkQuantization(m, facts.structure, warnings);
  const gqa = facts.structure.groupQueryAttention;
  if (spec.kvCache === 'shared' && gqa === 0) {
    problems.push({ area: 'decoder', message: `decoder.kvCache is "shared" but ${m.decoder.file} has no GroupQueryAttention node: its present key/values are new tensors, and the engine's preallocated buffers fail the first forward`, fix: `set decoder.kvCache to "concat" in ${MANIFEST_FILE} (or re-export with emu convert decoder --kv-cache shared)` });
  } else if (spec.kvCache === 'concat' && gqa > 0) {
    warnings.push({ message: `${m.decoder.file} has ${gqa} com.microsoft GroupQueryAttention nodes (an in-place KV cache) but decoder.kvCache is "concat"`, fix: `set decoder.kvCache to "shared" in ${MANIFEST_FILE}` });
  }

  const { DecoderSession } = await import('../runtime/DecoderSession.ts');
  const { createSession } = await import('../runtime/createSession.ts');
  let session: Awaited<ReturnType<typeof createSession>> | undefined;
  let openError: Error | undefined;
  try {
    session = await DecoderSession.openSession(file, spec, m.vocab.size, { threads: 1 });
  } catch (err) {
    openError = err as Error;
    // The engine's check failed: open the graph plainly to say which field is wrong.
    session = await createSession(file, { threads: 1 }).catch(() => undefined);
  }
  if (!session) {
    problems.push({ area: 'decoder', message: `onnxruntime cannot load ${m.decoder.file} on CPU: ${firstLine(openError)}`, fix: `re-export the decoder; if it is quantized, check the com.microsoft opset (onnxruntime-node ${ortVersion()})` });
    return facts;
  }
  try {
    readDecoderFacts(session, spec, facts);
    const found = diagnoseDecoder(m, facts, session, problems);
    if (openError && !found) {
      problems.push({ area: 'decoder', message: firstLine(openError), fix: `make decoder.io / numLayers / numKvHeads / headDim in ${MANIFEST_FILE} match the graph, or re-export it` });
    }
  } finally {
    await session.release();
  }
  return facts;
}

/** The graph's own numbers, from its I/O metadata. */
function readDecoderFacts(session: import('onnxruntime-node').InferenceSession, spec: DecoderSpec, facts: DecoderFacts): void {
  const pastKey = patternRegex(spec.io.pastKey);
  const layerIds = session.inputNames.map((n) => pastKey.exec(n)?.[1]).filter((x): x is string => x !== undefined);
  facts.layers = layerIds.length;
  const firstKey = tensorMeta(session.inputMetadata, spec.io.pastKey.replace('{i}', '0')) ?? tensorMeta(session.inputMetadata, session.inputNames.find((n) => pastKey.test(n)));
  if (firstKey) {
    facts.dtype = firstKey.type;
    facts.kvHeads = fixedDim(firstKey.shape[1]);
    facts.headDim = fixedDim(firstKey.shape[3]);
  }
  const logits = tensorMeta(session.outputMetadata, spec.io.logits);
  if (logits) facts.vocab = fixedDim(logits.shape[logits.shape.length - 1]);
  if (spec.io.logitsToKeep && session.inputNames.includes(spec.io.logitsToKeep)) facts.logitsToKeep = spec.io.logitsToKeep;
  const fed = new Set([spec.io.inputIds, spec.io.attentionMask, spec.io.positionIds, ...(spec.io.logitsToKeep ? [spec.io.logitsToKeep] : []), ...(spec.io.keyPositions ? [spec.io.keyPositions] : [])]);
  const pastValue = patternRegex(spec.io.pastValue);
  facts.extraInputs = session.inputNames.filter((n) => !fed.has(n) && !pastKey.test(n) && !pastValue.test(n));
}

/** Problems named field by field; true when at least one was found. */
function diagnoseDecoder(m: ModelManifest, f: DecoderFacts, session: import('onnxruntime-node').InferenceSession, problems: Problem[]): boolean {
  const before = problems.length;
  const spec = m.decoder;
  const io = spec.io;
  const fix = (field: string, value: string | number) => `set ${field} to ${typeof value === 'number' ? value : `"${value}"`} in ${MANIFEST_FILE}`;
  const mismatch = (field: string, manifest: number | string, graph: number | string) =>
    problems.push({ area: 'decoder', message: `${field} is ${manifest} but ${spec.file} has ${graph}`, fix: fix(field, graph) });
  for (const [field, name] of [['decoder.io.inputIds', io.inputIds], ['decoder.io.attentionMask', io.attentionMask], ['decoder.io.positionIds', io.positionIds]] as const) {
    if (!session.inputNames.includes(name)) problems.push({ area: 'decoder', message: `${field} names input '${name}', which ${spec.file} does not have (inputs: ${session.inputNames.slice(0, 6).join(', ')}…)`, fix: `set ${field} to the graph's input name in ${MANIFEST_FILE}` });
  }
  if (!session.outputNames.includes(io.logits)) problems.push({ area: 'decoder', message: `decoder.io.logits names output '${io.logits}', which ${spec.file} does not have (outputs: ${session.outputNames.slice(0, 4).join(', ')}…)`, fix: `set decoder.io.logits to the graph's logits output in ${MANIFEST_FILE}` });
  if (f.vocab !== null && f.vocab !== m.vocab.size) {
    problems.push({
      area: 'tokenizer',
      message: `vocab.size is ${m.vocab.size} but the decoder's logits have ${f.vocab} entries`,
      fix: `set vocab.size to ${f.vocab} in ${MANIFEST_FILE} (vocab.size = visualOffset + codebookSize, so adjust those too), or re-export the decoder for ${m.vocab.size} tokens`,
    });
  }
  if (f.layers === 0) {
    problems.push({ area: 'decoder', message: `no input of ${spec.file} matches decoder.io.pastKey '${io.pastKey}'`, fix: `set decoder.io.pastKey / pastValue / presentKey / presentValue to the graph's names ({i} = layer), or export the decoder with past key/values` });
  } else if (f.layers !== null && f.layers !== spec.numLayers) mismatch('decoder.numLayers', spec.numLayers, f.layers);
  const presentKey = patternRegex(io.presentKey);
  if (f.layers && session.outputNames.filter((n) => presentKey.test(n)).length !== f.layers) {
    problems.push({ area: 'decoder', message: `${spec.file} does not have one '${io.presentKey}' output per layer`, fix: `set decoder.io.presentKey / presentValue to the graph's output names in ${MANIFEST_FILE}` });
  }
  if (f.kvHeads !== null && f.kvHeads !== spec.numKvHeads) mismatch('decoder.numKvHeads', spec.numKvHeads, f.kvHeads);
  if (f.headDim !== null && f.headDim !== spec.headDim) mismatch('decoder.headDim', spec.headDim, f.headDim);
  if (f.dtype !== null && f.dtype !== spec.dtype) {
    if (f.dtype === 'float32' || f.dtype === 'float16') mismatch('decoder.dtype', spec.dtype, f.dtype);
    else problems.push({ area: 'decoder', message: `${spec.file}'s past key/values are ${f.dtype}; the engine feeds float32 or float16`, fix: 're-export the decoder with float32 or float16 key/value inputs' });
  }
  if (io.keyPositions && !session.inputNames.includes(io.keyPositions)) {
    problems.push({ area: 'decoder', message: `decoder.io.keyPositions names input '${io.keyPositions}', which ${spec.file} does not have`, fix: `remove decoder.io.keyPositions from ${MANIFEST_FILE} (sampling.image.parallel 'zipar' then runs as 'jacobi')` });
  }
  if (io.logitsToKeep && !session.inputNames.includes(io.logitsToKeep)) {
    problems.push({ area: 'decoder', message: `decoder.io.logitsToKeep names input '${io.logitsToKeep}', which ${spec.file} does not have`, fix: `remove decoder.io.logitsToKeep from ${MANIFEST_FILE} (the graph returns logits for every position)` });
  }
  for (const name of f.extraInputs) {
    const meta = tensorMeta(session.inputMetadata, name);
    const keepLike = /logits_to_keep|num_logits/i.test(name) || (meta?.type === 'int64' && meta.shape.length === 1 && meta.shape[0] === 1);
    problems.push({
      area: 'decoder',
      message: `${spec.file} has input '${name}' that the engine does not feed`,
      fix: keepLike ? `set decoder.io.logitsToKeep to "${name}" in ${MANIFEST_FILE}` : `re-export the decoder without '${name}', or name it in decoder.io`,
    });
  }
  return problems.length > before;
}

function checkQuantization(m: ModelManifest, s: GraphStructure, warnings: Warning[]): void {
  const q = m.decoder.quantization;
  const n = s.matMulNBits;
  if (!q && n.nodes > 0) {
    warnings.push({ message: `${m.decoder.file} has ${n.nodes} com.microsoft MatMulNBits nodes (${n.bits.join('/')}-bit, block ${n.blockSizes.join('/')}) but decoder.quantization is not set`, fix: `add "quantization": { "method": "MatMulNBits", "bits": ${n.bits[0]}, "blockSize": ${n.blockSizes[0]} } to decoder in ${MANIFEST_FILE}` });
  } else if (q && n.nodes === 0) {
    warnings.push({ message: `decoder.quantization says ${q.bits}-bit MatMulNBits but ${m.decoder.file} has no MatMulNBits node`, fix: `remove decoder.quantization from ${MANIFEST_FILE}` });
  } else if (q && (n.bits.some((b) => b !== q.bits) || n.blockSizes.some((b) => b !== q.blockSize))) {
    warnings.push({ message: `decoder.quantization says ${q.bits}-bit block ${q.blockSize}; the graph's MatMulNBits nodes are ${n.bits.join('/')}-bit block ${n.blockSizes.join('/')}`, fix: `set decoder.quantization.bits / blockSize to the graph's values in ${MANIFEST_FILE}` });
  }
}

async function checkVision(dir: string, m: ModelManifest, problems: Problem[]): Promise<ModelCheckReport['vision']> {
  const enc = resolveModelPath(dir, m.vision.encoder);
  const dec = resolveModelPath(dir, m.vision.decoder);
  const [encoder, decoder] = await Promise.all([readGraphStructure(enc).catch(() => null), readGraphStructure(dec).catch(() => null)]);
  const { VisionTokenizer } = await import('../runtime/VisionTokenizer.ts');
  let ok = true;
  try {
    const vt = await VisionTokenizer.open(enc, dec, m.vision, m.vocab.codebookSize, { threads: 1 });
    await vt.close();
  } catch (err) {
    ok = false;
    problems.push({ area: 'vision', message: firstLine(err), fix: `make vision.io in ${MANIFEST_FILE} name the graphs' inputs/outputs (encoder: pixel_values [1,3,H,W] → codes [1,h,w]; decoder: codes → pixel_values), or re-export them (emu convert vision)` });
  }
  return { ok, downsample: m.vision.downsample, encoder, decoder };
}

function memoryOf(r: ModelCheckReport, m: ModelManifest, context: number, streams: number, prefillChunk: number): ModelCheckReport['memory'] {
  const d = r.decoder;
  if (!d?.structure) return null;
  const visionWeightsBytes = (r.vision?.encoder?.weightsBytes ?? 0) + (r.vision?.decoder?.weightsBytes ?? 0);
  const dtype = d.dtype === 'float16' || d.dtype === 'float32' ? d.dtype : m.decoder.dtype;
  const est = estimateMemory({
    weightsBytes: d.structure.weightsBytes + visionWeightsBytes,
    layers: d.layers || m.decoder.numLayers,
    kvHeads: d.kvHeads ?? m.decoder.numKvHeads,
    headDim: d.headDim ?? m.decoder.headDim,
    vocab: d.vocab ?? m.vocab.size,
    dtype,
    logitsToKeep: d.logitsToKeep !== null,
    context,
    streams,
    prefillChunk,
  });
  return { ...est, decoderWeightsBytes: d.structure.weightsBytes, visionWeightsBytes, machineBytes: os.totalmem(), prefillChunk };
}

// ---------------------------------------------------------------------------------------------
// Graph structure from the protobuf (onnx-proto), never the external data
// ---------------------------------------------------------------------------------------------

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2, 17: 1, 18: 1, 19: 1, 20: 1, 21: 0.5, 22: 0.5 };

/**
 * Initializer bytes, external data files, and MatMulNBits nodes of an ONNX file. Decodes only the
 * protobuf: for an external-data model that is the small graph file; the data files are stat'ed.
 */
export async function readGraphStructure(file: string): Promise<GraphStructure> {
  const model = onnx.ModelProto.decode(await readFile(file));
  const graph = model.graph;
  if (!graph) throw new Error('no graph in the model');
  let embedded = 0;
  const locations = new Set<string>();
  for (const t of graph.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const loc = t.externalData?.find((e) => e.key === 'location')?.value;
      if (loc) locations.add(loc);
      continue;
    }
    embedded += tensorBytes(t);
  }
  const externalData = [...locations].map((loc) => {
    const s = statSync(path.resolve(path.dirname(file), loc), { throwIfNoEntry: false });
    return { file: loc, bytes: s?.isFile() ? s.size : null };
  });
  const nbits = (graph.node ?? []).filter((n) => n.opType === 'MatMulNBits' && n.domain === 'com.microsoft');
  const gqa = (graph.node ?? []).filter((n) => n.opType === 'GroupQueryAttention' && n.domain === 'com.microsoft').length;
  const attr = (n: onnxProto.onnx.INodeProto, name: string) => {
    const a = n.attribute?.find((x) => x.name === name);
    return a?.i == null ? undefined : toNumber(a.i);
  };
  const uniq = (xs: (number | undefined)[]) => [...new Set(xs.filter((x): x is number => x !== undefined))].sort((a, b) => a - b);
  return {
    file: path.basename(file),
    weightsBytes: embedded + externalData.reduce((n, e) => n + (e.bytes ?? 0), 0),
    embeddedBytes: embedded,
    externalData,
    nodes: graph.node?.length ?? 0,
    matMulNBits: { nodes: nbits.length, bits: uniq(nbits.map((n) => attr(n, 'bits') ?? 4)), blockSizes: uniq(nbits.map((n) => attr(n, 'block_size'))) },
    groupQueryAttention: gqa,
  };
}

function tensorBytes(t: onnxProto.onnx.ITensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  const count = (t.dims ?? []).reduce<number>((n, d) => n * toNumber(d), 1);
  return Math.ceil(count * (ELEMENT_BYTES[t.dataType ?? 0] ?? 0));
}

function toNumber(x: number | { toNumber(): number }): number {
  return typeof x === 'number' ? x : x.toNumber();
}

// ---------------------------------------------------------------------------------------------
// Execution providers
// ---------------------------------------------------------------------------------------------

const CUDA12_LIBS = ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcurand.so.10', 'libcufft.so.11', 'libcudnn.so.9'];
/** apt packages (NVIDIA's CUDA repository) per library: CUDA 12.x runtime libraries, cuDNN 9 for CUDA 12. */
const APT_PACKAGE: Record<string, string> = {
  'libcudart.so.12': 'cuda-cudart-12-8',
  'libcublas.so.12': 'libcublas-12-8',
  'libcublasLt.so.12': 'libcublas-12-8',
  'libcurand.so.10': 'libcurand-12-8',
  'libcufft.so.11': 'libcufft-12-8',
  'libcudnn.so.9': 'libcudnn9-cuda-12',
};

export interface ProbeOptions {
  ortDir?: string;
  skipLiveProbes?: boolean;
  /** Library search: defaults to `ldconfig -p` plus LD_LIBRARY_PATH. */
  findLibrary?: (name: string, extraDirs: string[]) => string | undefined;
}

/** The onnxruntime-node package folder this package uses. */
export function defaultOrtDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
export function ortBinDir(ortDir = defaultOrtDir()): string {
  return path.join(ortDir, 'bin', 'napi-v6', process.platform, process.arch);
}

export function cudaProviderFiles(ortDir = defaultOrtDir()): string[] {
  const bin = ortBinDir(ortDir);
  return ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].map((f) => path.join(bin, f));
}

export function probeProviders(o: ProbeOptions = {}): ProviderStatus[] {
  const ortDir = o.ortDir ?? defaultOrtDir();
  const find = o.findLibrary ?? findLibrary;
  const backends = listBackends(ortDir);
  return [
    { name: 'cpu', available: true, reasons: [], fixes: [], checks: [{ check: 'onnxruntime-node', ok: true, detail: `${ortVersion(ortDir)} on ${process.platform}/${process.arch}` }] },
    probeCuda(ortDir, backends, find, o.skipLiveProbes ?? false),
    probeWebGpu(ortDir, backends, find, o.skipLiveProbes ?? false),
  ];
}

function probeCuda(ortDir: string, backends: string[], find: NonNullable<ProbeOptions['findLibrary']>, skipLive: boolean): ProviderStatus {
  const checks: ProviderStatus['checks'] = [];
  const why: string[] = [];
  const fixes: string[] = [];
  const status = (): ProviderStatus => ({ name: 'cuda', available: why.length === 0, reasons: why, fixes, checks });
  if (process.platform !== 'linux' || process.arch !== 'x64' || !backends.includes('cuda')) {
    checks.push({ check: 'platform', ok: false, detail: `onnxruntime-node offers CUDA on linux/x64 (and win32/x64); this is ${process.platform}/${process.arch}` });
    why.push(`onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch} (checked here on linux/x64 only)`);
    fixes.push('run on a linux/x64 host with an NVIDIA GPU, e.g. through emu serve on a GPU host');
    return status();
  }
  const [providerLib, sharedLib] = cudaProviderFiles(ortDir);
  const installed = existsSync(providerLib!) && existsSync(sharedLib!);
  checks.push({ check: 'provider library', ok: installed, detail: installed ? providerLib! : `${providerLib} is not installed (npm installs the CPU build only)` });
  if (!installed) {
    why.push(`onnxruntime-node's CUDA provider is not installed (${path.basename(providerLib!)} missing)`);
    fixes.push('npm run install:cuda');
  }
  // What the provider links against, read from its ELF header; the CUDA 12 list when it is not there yet.
  const needed = installed ? elfNeeded(providerLib!).filter((l) => /^lib(cuda|cublas|cudnn|curand|cufft|nvrtc|nvinfer)/.test(l)) : CUDA12_LIBS;
  const missing: string[] = [];
  for (const lib of needed) {
    const at = find(lib, [ortBinDir(ortDir)]);
    if (!at) missing.push(lib);
    checks.push({ check: lib, ok: Boolean(at), detail: at ?? 'not found by the loader (ldconfig -p, LD_LIBRARY_PATH)' });
  }
  if (missing.length > 0) {
    const cuda13 = find('libcudart.so.13', []) ? ' (CUDA 13 is installed; this provider is built for CUDA 12, and both can be installed side by side)' : '';
    why.push(`CUDA 12 / cuDNN 9 libraries not found: ${missing.join(', ')}${cuda13}`);
    const pkgs = [...new Set(missing.map((l) => APT_PACKAGE[l] ?? l))];
    fixes.push(`sudo apt-get install -y ${pkgs.join(' ')} && sudo ldconfig   # from NVIDIA's CUDA apt repository (cuda-keyring); or export LD_LIBRARY_PATH=<folder with ${missing[0]}>`);
  }
  const gpu = findGpu();
  checks.push({ check: 'GPU', ok: gpu.ok, detail: gpu.detail });
  if (!gpu.ok) {
    why.push(`no NVIDIA GPU visible (${gpu.detail})`);
    fixes.push('install the NVIDIA driver (Debian: sudo apt-get install -y nvidia-driver; Ubuntu: sudo ubuntu-drivers install), or in a container: docker run --gpus all …');
  }
  if (why.length > 0 || skipLive) return status();
  const live = liveProbe(ortDir, 'cuda');
  checks.push({ check: 'session', ok: live.ok, detail: live.detail });
  if (!live.ok) {
    why.push(`a CUDA session does not open: ${live.detail}`);
    fixes.push('nvidia-smi (is the driver healthy?), then node bin/emu.js doctor again');
  }
  return status();
}

function probeWebGpu(ortDir: string, backends: string[], find: NonNullable<ProbeOptions['findLibrary']>, skipLive: boolean): ProviderStatus {
  const checks: ProviderStatus['checks'] = [];
  const why: string[] = [];
  const fixes: string[] = [];
  const status = (): ProviderStatus => ({ name: 'webgpu', available: why.length === 0, reasons: why, fixes, checks });
  let software = false;
  const inBuild = backends.includes('webgpu');
  checks.push({ check: 'in the build', ok: inBuild, detail: inBuild ? `onnxruntime-node ${ortVersion(ortDir)} bundles the WebGPU provider (Dawn)` : `not in onnxruntime-node ${ortVersion(ortDir)} for ${process.platform}/${process.arch}` });
  if (!inBuild) {
    why.push('this onnxruntime-node build has no WebGPU provider');
    fixes.push('use cuda or cpu on this platform');
    return status();
  }
  if (process.platform === 'linux') {
    const loader = find('libvulkan.so.1', []);
    checks.push({ check: 'libvulkan.so.1', ok: Boolean(loader), detail: loader ?? 'the Vulkan loader is not installed' });
    const icds = vulkanIcds();
    checks.push({ check: 'Vulkan ICD', ok: icds.length > 0, detail: icds.length > 0 ? icds.map((f) => path.basename(f)).join(', ') : 'no driver manifest in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d (or VK_DRIVER_FILES)' });
    const devices = gpuDevices();
    checks.push({ check: 'GPU device', ok: devices.length > 0, detail: devices.length > 0 ? devices.join(', ') : 'no /dev/dri/renderD* and no /dev/nvidia0' });
    if (!loader) {
      why.push('the Vulkan loader (libvulkan.so.1) is not installed');
      fixes.push('sudo apt-get install -y libvulkan1');
    }
    if (icds.length === 0) {
      why.push('no Vulkan driver (ICD) is installed');
      fixes.push('sudo apt-get install -y mesa-vulkan-drivers   # Intel/AMD; NVIDIA: the NVIDIA driver installs nvidia_icd.json (containers: NVIDIA_DRIVER_CAPABILITIES=all)');
    }
    software = devices.length === 0 && icds.some((f) => /lvp|swiftshader/i.test(f));
    if (devices.length === 0 && !software) {
      why.push('no GPU device');
      fixes.push('run on a host with a GPU and its Vulkan driver (containers: pass /dev/dri or --gpus all)');
    }
  }
  if (why.length > 0) return status();
  if (skipLive) {
    if (software) {
      why.push('no GPU device; whether the CPU Vulkan driver gives an adapter needs the session probe');
      fixes.push('node bin/emu.js doctor (without --no-probe)');
    }
    return status();
  }
  const live = liveProbe(ortDir, 'webgpu');
  // With no GPU, a CPU Vulkan driver (Mesa lavapipe) may still give an adapter: Mesa 25 does, Debian 12's 22.3 does not.
  checks.push({ check: 'adapter', ok: live.ok, detail: live.ok && software ? `${live.detail}: a software adapter (a CPU Vulkan driver), correct but not fast: for tests, not for speed` : live.detail });
  if (!live.ok) {
    why.push(software ? `no GPU device, and the CPU Vulkan driver gives no WebGPU adapter: ${live.detail}` : `no WebGPU adapter: ${live.detail}`);
    fixes.push(
      software
        ? 'run on a host with a GPU and its Vulkan driver; for tests on a CPU-only Debian 12 machine: bash bin/setup/webgpu-software.sh (Mesa 25 lavapipe from bookworm-backports)'
        : 'vulkaninfo --summary (sudo apt-get install -y vulkan-tools) should list the GPU; install its Vulkan driver',
    );
  }
  return status();
}

function gpuDevices(): string[] {
  const out: string[] = [];
  if (existsSync('/dev/nvidia0')) out.push('/dev/nvidia0');
  try {
    out.push(...readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')).map((f) => `/dev/dri/${f}`));
  } catch {
    // no DRM devices
  }
  return out;
}

/** Opens a one-node graph on `ep` in a child process (a provider that crashes takes only the child). */
function liveProbe(ortDir: string, ep: 'cuda' | 'webgpu'): { ok: boolean; detail: string } {
  const g = new GraphBuilder('probe');
  const x = g.input('x', 'float32', [1]);
  g.output('y', g.op('Add', [x, x]), 'float32', [1]);
  const model = Buffer.from(g.encode()).toString('base64');
  const code = `const ort = require(${JSON.stringify(path.join(ortDir, 'dist', 'index.js'))});
const bytes = Buffer.from(require('fs').readFileSync(0, 'utf8'), 'base64');
ort.InferenceSession.create(bytes, { executionProviders: [${JSON.stringify(ep)}], logSeverityLevel: 4 })
  .then(async (s) => { const y = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1), [1]) }); console.log('OK ' + y.y.data[0]); })
  .catch((e) => { console.log('FAIL ' + String(e && e.message || e).split('\\n')[0]); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', code], { input: model, encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('OK ') || l.startsWith('FAIL '));
  if (line?.startsWith('OK 2')) return { ok: true, detail: `a session ran on ${ep}` };
  if (line?.startsWith('FAIL ')) return { ok: false, detail: line.slice(5).replace(/^.*?(Failed to|\w+Error:)/, '$1').slice(0, 300) };
  return { ok: false, detail: r.error ? r.error.message : `the probe process ended with ${r.signal ?? `exit ${r.status}`}` };
}

function listBackends(ortDir: string): string[] {
  try {
    const ort = createRequire(import.meta.url)(path.join(ortDir, 'dist', 'index.js')) as { listSupportedBackends?: () => { name: string }[] };
    return (ort.listSupportedBackends?.() ?? []).map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

function ortVersion(ortDir = defaultOrtDir()): string {
  try {
    return (createRequire(import.meta.url)(path.join(ortDir, 'package.json')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

let ldCache: Map<string, string> | undefined;

/** A shared library the dynamic loader would find: `ldconfig -p`, LD_LIBRARY_PATH, then `extraDirs` (RPATH $ORIGIN). */
export function findLibrary(name: string, extraDirs: string[] = []): string | undefined {
  for (const dir of [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...extraDirs]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  if (!ldCache) {
    ldCache = new Map();
    for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
      const r = spawnSync(bin, ['-p'], { encoding: 'utf8' });
      if (r.status !== 0 || !r.stdout) continue;
      for (const m of r.stdout.matchAll(/^\s*(\S+) \(([^)]*)\) => (\S+)$/gm)) {
        if (process.arch === 'x64' && !m[2]!.includes('x86-64')) continue;
        if (!ldCache.has(m[1]!)) ldCache.set(m[1]!, m[3]!);
      }
      break;
    }
  }
  return ldCache.get(name);
}

function findGpu(): { ok: boolean; detail: string } {
  if (existsSync('/dev/nvidia0')) return { ok: true, detail: '/dev/nvidia0' };
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 15_000 });
  if (r.status === 0 && /GPU \d+:/.test(r.stdout)) return { ok: true, detail: r.stdout.trim().split('\n')[0]! };
  return { ok: false, detail: r.error ? 'no /dev/nvidia0 and no nvidia-smi' : `no /dev/nvidia0; nvidia-smi -L: ${(r.stdout + r.stderr).trim().split('\n')[0] ?? ''}` };
}

function vulkanIcds(): string[] {
  const explicit = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (explicit) return explicit.split(':').filter((f) => existsSync(f));
  const dataDirs = (process.env.XDG_DATA_DIRS ?? '/usr/local/share:/usr/share').split(':').filter(Boolean);
  const dirs = [...new Set(['/etc/vulkan/icd.d', ...dataDirs.map((d) => path.join(d, 'vulkan', 'icd.d'))])];
  return dirs.flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.json')).map((f) => path.join(d, f));
    } catch {
      return [];
    }
  });
}

/** DT_NEEDED entries of a 64-bit little-endian ELF shared library, read from its headers only. */
export function elfNeeded(file: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const read = (pos: number, len: number) => {
      const b = Buffer.alloc(len);
      readSync(fd, b, 0, len, pos);
      return b;
    };
    const h = read(0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return [];
    const shoff = Number(h.readBigUInt64LE(0x28));
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const sections = Array.from({ length: shnum }, (_, i) => {
      const s = read(shoff + i * shentsize, 64);
      return { type: s.readUInt32LE(4), offset: Number(s.readBigUInt64LE(24)), size: Number(s.readBigUInt64LE(32)), link: s.readUInt32LE(40) };
    });
    const dyn = sections.find((s) => s.type === 6);
    if (!dyn) return [];
    const strtab = sections[dyn.link]!;
    const strs = read(strtab.offset, strtab.size);
    const entries = read(dyn.offset, dyn.size);
    const out: string[] = [];
    for (let o = 0; o + 16 <= entries.length; o += 16) {
      const tag = entries.readBigInt64LE(o);
      if (tag === 0n) break;
      if (tag === 1n) {
        const at = Number(entries.readBigUInt64LE(o + 8));
        out.push(strs.toString('latin1', at, strs.indexOf(0, at)));
      }
    }
    return out;
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function patternRegex(pattern: string): RegExp {
  const [a, b] = pattern.split('{i}');
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(a!)}(\\d+)${esc(b ?? '')}$`);
}

type Meta = { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] };

function tensorMeta(list: readonly unknown[] | undefined, name: string | undefined): { type: string; shape: readonly (number | string)[] } | undefined {
  if (!name) return undefined;
  const m = (list as Meta[] | undefined)?.find((x) => x.name === name);
  return m?.isTensor && m.type && m.shape ? { type: m.type, shape: m.shape } : undefined;
}

function fixedDim(d: number | string | undefined): number | null {
  return typeof d === 'number' && d >= 0 ? d : null;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

function gb(n: number): string {
  return `${(n / 1e9).toFixed(2)} GB`;
}
