import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AbortError, ConfigError, EngineError, InputError, ModelError, parseOrThrow, throwIfAborted } from '../errors.ts';
import { MANIFEST_FILE, resolveModelPath } from '../model/loadManifest.ts';
import { ModelManifestSchema, type ModelManifest } from '../model/ModelManifest.ts';
import { writeFileAtomicSync } from '../output/outputFolder.ts';

/** The Python exporter, run with the system interpreter (Debian's python3-torch). */
export const EXPORT_IBQ_SCRIPT = fileURLToPath(new URL('./vision/export_ibq.py', import.meta.url));
/** Manifest the model folder starts from when it has none. */
export const VISION_MANIFEST_TEMPLATE = fileURLToPath(new URL('../../models/emu35/emu-model.json', import.meta.url));
export const CONVERT_RECORD_FILE = 'convert.json';
/** Upstream's `build_image`: `np.array(image) / 127.5 - 1.0`; `decode_image`: `(x + 1) * 127.5`. */
const EMU35_NORMALIZE = { scale: 127.5, shift: 1 } as const;

export interface ConvertVisionOptions {
  /** Released IBQ folder (`BAAI/Emu3.5-VisionTokenizer`): `config.yaml` + `model.ckpt`. */
  from: string;
  /** Model folder to write (created if needed): the two graphs, `emu-model.json`'s vision section, `convert.json`. */
  to: string;
  /** Root of the user's Emu3.5 checkout (holds `src/vision_tokenizer/`). @default env EMU35_SRC */
  emu35Src?: string;
  /**
   * Extra Python import folders, put before PYTHONPATH, for packages the interpreter lacks (the
   * official quantizer needs einops; e.g. `/work/shared/python`). A string may hold several, `:`-separated.
   * @default env EMU_PYTHONPATH
   */
  pythonPath?: string | readonly string[];
  /** Interpreter with torch, onnx, omegaconf. @default env EMU_PYTHON, else /usr/bin/python3 */
  python?: string;
  onProgress?: (p: ConvertVisionProgress) => void;
  signal?: AbortSignal;
}

export type ConvertVisionProgress =
  | { phase: 'hash'; name: string; done: number; total: number }
  /** A stage of the exporter: config, loaded, selfcheck, encoder, decoder (its JSON fields in `detail`). */
  | { phase: 'export'; stage: string; detail: Record<string, unknown> }
  | { phase: 'write'; file: string };

const GraphValueSchema = z.object({ name: z.string(), dtype: z.string(), shape: z.array(z.union([z.string(), z.number()])) });
const GraphIoSchema = z.object({ file: z.string(), inputs: z.array(GraphValueSchema), outputs: z.array(GraphValueSchema) });

/** The exporter's result line: facts of the real config and the graphs as written. */
export const VisionExportSummarySchema = z.object({
  event: z.literal('result'),
  codebookSize: z.number().int().positive(),
  embedDim: z.number().int().positive(),
  zChannels: z.number().int().positive(),
  downsample: z.number().int().positive(),
  chMult: z.array(z.number().int().positive()).min(1),
  ch: z.number().int().positive(),
  numResBlocks: z.number().int().positive(),
  attnResolutions: z.array(z.number().int()),
  resolution: z.number().int().positive(),
  configLayout: z.enum(['top-level', 'model.params']),
  stateDictWrapped: z.boolean(),
  parameters: z.number().int().positive(),
  selfCheck: z.object({ size: z.tuple([z.number(), z.number()]), codeMismatches: z.literal(0), maxPixelDiff: z.number(), entropyLossSkipped: z.boolean() }),
  encoder: GraphIoSchema,
  decoder: GraphIoSchema,
  officialCode: z.object({ dir: z.string(), files: z.record(z.string(), z.string()) }),
  versions: z.object({ python: z.string(), torch: z.string(), onnx: z.string() }),
  opset: z.number().int(),
  seconds: z.number(),
});
export type VisionExportSummary = z.infer<typeof VisionExportSummarySchema>;

const ExportEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('progress'), stage: z.string() }).loose(),
  z.object({ event: z.literal('error'), kind: z.enum(['deps', 'emu35_src', 'vq_dir', 'config', 'checkpoint', 'selfcheck', 'export']), message: z.string() }),
  VisionExportSummarySchema,
]);

export interface FileRecord {
  file: string;
  bytes: number;
  sha256: string;
}

export interface VisionConversionRecord {
  from: string;
  sources: FileRecord[];
  officialCode: { dir: string; files: Record<string, string> };
  options: { emu35Src: string; pythonPath: string[]; python: string; dtype: 'float32'; opset: number };
  facts: Omit<VisionExportSummary, 'event' | 'encoder' | 'decoder' | 'officialCode' | 'versions' | 'opset' | 'seconds' | 'selfCheck'>;
  graphs: { encoder: FileRecord & { io: z.infer<typeof GraphIoSchema> }; decoder: FileRecord & { io: z.infer<typeof GraphIoSchema> } };
  selfCheck: VisionExportSummary['selfCheck'];
  versions: VisionExportSummary['versions'];
  manifestChanges: string[];
  seconds: { export: number; total: number };
  date: string;
}

export interface ConvertVisionResult {
  encoderFile: string;
  decoderFile: string;
  manifestFile: string;
  recordFile: string;
  /** The vision section as written. */
  vision: ModelManifest['vision'];
  codebookSize: number;
  /** What changed in emu-model.json besides the graphs, e.g. `vocab.codebookSize 131072 → 64`. */
  manifestChanges: string[];
  record: VisionConversionRecord;
}

/**
 * `emu convert vision`: the released IBQ vision tokenizer → the engine's two fp32 graphs, through
 * PyTorch and the official IBQ classes of the user's Emu3.5 checkout (imported at run time, never
 * copied). The manifest's vision section (downsample, normalisation) and `vocab.codebookSize` come
 * from the same config.yaml as the graphs, so they cannot disagree; `convert.json` gets a `vision`
 * key with the sources' hashes and the options (other keys are kept).
 *
 * Errors: InputError (`input_invalid`) for a missing/unreadable VQ_DIR, config.yaml or model.ckpt,
 * or a wrong checkout; EngineError when Python/torch/onnx/einops are missing or the export fails;
 * ConfigError for an invalid existing emu-model.json or convert.json; ModelError (`model_mismatch`)
 * when the codebook disagrees with a folder whose decoder is already converted.
 */
export async function convertVision(options: ConvertVisionOptions): Promise<ConvertVisionResult> {
  const started = performance.now();
  const { signal } = options;
  throwIfAborted(signal);
  const from = path.resolve(options.from);
  const to = path.resolve(options.to);
  const emu35Src = resolveEmu35Src(options.emu35Src ?? process.env.EMU35_SRC);
  const pythonPath = splitPath(options.pythonPath ?? process.env.EMU_PYTHONPATH);
  const python = options.python ?? process.env.EMU_PYTHON ?? '/usr/bin/python3';
  const configFile = requireSource(from, 'config.yaml');
  const ckptFile = requireSource(from, 'model.ckpt');

  const manifestFile = path.join(to, MANIFEST_FILE);
  const recordFile = path.join(to, CONVERT_RECORD_FILE);
  const { raw, manifest } = readManifest(existsSync(manifestFile) ? manifestFile : VISION_MANIFEST_TEMPLATE);
  readRecord(recordFile); // fail before the long work, not after it
  const encoderFile = resolveModelPath(to, manifest.vision.encoder);
  const decoderFile = resolveModelPath(to, manifest.vision.decoder);
  mkdirSync(to, { recursive: true });
  mkdirSync(path.dirname(encoderFile), { recursive: true });
  mkdirSync(path.dirname(decoderFile), { recursive: true });

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const encoderTmp = path.join(path.dirname(encoderFile), `.${path.basename(encoderFile)}.tmp-${tag}`);
  const decoderTmp = path.join(path.dirname(decoderFile), `.${path.basename(decoderFile)}.tmp-${tag}`);
  let summary: VisionExportSummary;
  let sources: FileRecord[];
  let next: { raw: Record<string, unknown>; manifest: ModelManifest };
  let encoderHash: FileRecord;
  let decoderHash: FileRecord;
  const changes: string[] = [];
  let exportSeconds: number;
  try {
    [summary, sources] = await Promise.all([
      runExporter({ python, pythonPath, emu35Src, from, encoderTmp, decoderTmp, io: manifest.vision.io, onProgress: options.onProgress, signal }),
      hashFiles([configFile, ckptFile], options.onProgress, signal),
    ]);
    checkGraphIo(summary, manifest.vision.io);
    exportSeconds = (performance.now() - started) / 1000;
    // The manifest in memory first: a mismatch stops before anything is renamed into place.
    next = updateManifest(raw, manifest, summary, to, recordFile, changes);
    [encoderHash, decoderHash] = (await hashFiles([encoderTmp, decoderTmp], undefined, signal)) as [FileRecord, FileRecord];
    renameSync(encoderTmp, encoderFile);
    options.onProgress?.({ phase: 'write', file: encoderFile });
    renameSync(decoderTmp, decoderFile);
    options.onProgress?.({ phase: 'write', file: decoderFile });
  } finally {
    rmSync(encoderTmp, { force: true });
    rmSync(decoderTmp, { force: true });
  }
  writeFileAtomicSync(manifestFile, `${JSON.stringify(next.raw, null, 2)}\n`);
  options.onProgress?.({ phase: 'write', file: manifestFile });

  const { event: _e, encoder, decoder, officialCode, versions, opset, seconds: _s, selfCheck, ...facts } = summary;
  const record: VisionConversionRecord = {
    from,
    sources,
    officialCode,
    options: { emu35Src, pythonPath, python, dtype: 'float32', opset },
    facts,
    graphs: {
      encoder: { ...encoderHash, file: path.relative(to, encoderFile), io: { ...encoder, file: path.relative(to, encoderFile) } },
      decoder: { ...decoderHash, file: path.relative(to, decoderFile), io: { ...decoder, file: path.relative(to, decoderFile) } },
    },
    selfCheck,
    versions,
    manifestChanges: changes,
    seconds: { export: round3(exportSeconds), total: round3((performance.now() - started) / 1000) },
    date: new Date().toISOString(),
  };
  writeFileAtomicSync(recordFile, `${JSON.stringify({ ...readRecord(recordFile), vision: record }, null, 2)}\n`);
  options.onProgress?.({ phase: 'write', file: recordFile });
  return { encoderFile, decoderFile, manifestFile, recordFile, vision: next.manifest.vision, codebookSize: next.manifest.vocab.codebookSize, manifestChanges: changes, record };
}

function resolveEmu35Src(dir: string | undefined): string {
  if (!dir) {
    throw new InputError('input_invalid', 'convert vision needs the official Emu3.5 sources (they are imported, never copied): pass emu35Src / --emu35-src DIR (your github.com/baaivision/Emu3.5 checkout) or set EMU35_SRC');
  }
  const root = path.resolve(dir);
  const ibq = ['src/vision_tokenizer/ibq.py', 'vision_tokenizer/ibq.py'].find((p) => existsSync(path.join(root, p)));
  if (!ibq) {
    throw new InputError('input_invalid', `${root} is not an Emu3.5 checkout: expected ${path.join(root, 'src/vision_tokenizer/ibq.py')} (pass the repository root as --emu35-src)`);
  }
  return root;
}

function splitPath(p: string | readonly string[] | undefined): string[] {
  const parts = p === undefined ? [] : typeof p === 'string' ? p.split(path.delimiter) : [...p];
  return parts.filter((s) => s.length > 0).map((s) => path.resolve(s));
}

function requireSource(dir: string, name: string): string {
  const file = path.join(dir, name);
  const st = statSafe(dir);
  if (!st?.isDirectory()) throw new InputError('input_invalid', `${dir} is not a folder: --from must be a released IBQ folder (config.yaml + model.ckpt)`);
  if (!statSafe(file)?.isFile()) throw new InputError('input_invalid', `${dir} lacks ${name}: a released IBQ folder (BAAI/Emu3.5-VisionTokenizer) holds config.yaml and model.ckpt`);
  return file;
}

function statSafe(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function readManifest(file: string): { raw: Record<string, unknown>; manifest: ModelManifest } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read ${file} as JSON: ${(err as Error).message}`, [], { cause: err });
  }
  const manifest = parseOrThrow(ModelManifestSchema, raw, file);
  return { raw: raw as Record<string, unknown>, manifest };
}

function readRecord(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file} is not valid JSON (${(err as Error).message}); it holds other converters' records, so it is not overwritten: fix or remove it`, [], { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${file} must hold a JSON object of conversion records`);
  return value as Record<string, unknown>;
}

/**
 * The manifest as it is on disk, with the vision section and the codebook size taken from the
 * export. Keys the file left to defaults stay absent. A different codebook resizes the visual
 * vocabulary (`vocab.size = visualOffset + codebookSize`) only while the folder has no converted
 * decoder; with one, its logits fix the vocabulary, and the checkpoints do not belong together.
 */
function updateManifest(raw: Record<string, unknown>, manifest: ModelManifest, s: VisionExportSummary, dir: string, recordFile: string, changes: string[]): { raw: Record<string, unknown>; manifest: ModelManifest } {
  const vision = { ...(raw.vision as Record<string, unknown>) };
  const vocab = { ...(raw.vocab as Record<string, unknown>) };
  if (manifest.vision.downsample !== s.downsample) changes.push(`vision.downsample ${manifest.vision.downsample} → ${s.downsample}`);
  if (manifest.vision.normalize.scale !== EMU35_NORMALIZE.scale || manifest.vision.normalize.shift !== EMU35_NORMALIZE.shift) {
    changes.push(`vision.normalize ${JSON.stringify(manifest.vision.normalize)} → ${JSON.stringify(EMU35_NORMALIZE)}`);
  }
  vision.downsample = s.downsample;
  vision.normalize = { ...EMU35_NORMALIZE };
  if (manifest.vocab.codebookSize !== s.codebookSize) {
    const decoderDone = 'decoder' in readRecord(recordFile) || existsSync(resolveModelPath(dir, manifest.decoder.file));
    if (decoderDone) {
      throw new ModelError(
        'model_mismatch',
        `the IBQ codebook has ${s.codebookSize} codes but ${dir} already holds a decoder whose vocabulary has ${manifest.vocab.codebookSize} visual tokens (vocab.codebookSize): the vision tokenizer and the decoder are not from the same model`,
      );
    }
    const size = manifest.vocab.visualOffset + s.codebookSize;
    changes.push(`vocab.codebookSize ${manifest.vocab.codebookSize} → ${s.codebookSize}`, `vocab.size ${manifest.vocab.size} → ${size}`);
    vocab.codebookSize = s.codebookSize;
    vocab.size = size;
  }
  const next = { ...raw, vocab, vision };
  return { raw: next, manifest: parseOrThrow(ModelManifestSchema, next, `${MANIFEST_FILE} after the vision update`) };
}

/** The graphs as written must have exactly the engine's contract (names, dtypes, ranks, fixed dims). */
function checkGraphIo(s: VisionExportSummary, io: ModelManifest['vision']['io']): void {
  const expect = (what: string, values: z.infer<typeof GraphValueSchema>[], name: string, dtype: string, shape: (number | null)[]) => {
    const v = values.find((x) => x.name === name);
    const ok = v && values.length === 1 && v.dtype === dtype && v.shape.length === shape.length && shape.every((d, i) => d === null ? typeof v.shape[i] === 'string' : v.shape[i] === d);
    if (!ok) {
      throw new EngineError(`the exported ${what} is ${JSON.stringify(values)}, expected only '${name}' ${dtype} [${shape.map((d) => d ?? '?').join(',')}] with dynamic '?' axes`);
    }
  };
  expect('encoder input', s.encoder.inputs, io.encoderInput, 'float', [null, 3, null, null]);
  expect('encoder output', s.encoder.outputs, io.encoderOutput, 'int64', [null, null, null]);
  expect('decoder input', s.decoder.inputs, io.decoderInput, 'int64', [null, null, null]);
  expect('decoder output', s.decoder.outputs, io.decoderOutput, 'float', [null, 3, null, null]);
  if (s.downsample !== 2 ** (s.chMult.length - 1)) throw new EngineError(`exporter reported downsample ${s.downsample} for ch_mult ${JSON.stringify(s.chMult)}`);
}

interface ExporterRun {
  python: string;
  pythonPath: string[];
  emu35Src: string;
  from: string;
  encoderTmp: string;
  decoderTmp: string;
  io: ModelManifest['vision']['io'];
  onProgress?: (p: ConvertVisionProgress) => void;
  signal?: AbortSignal;
}

function runExporter(r: ExporterRun): Promise<VisionExportSummary> {
  const args = [EXPORT_IBQ_SCRIPT, '--vq-dir', r.from, '--emu35-src', r.emu35Src, '--encoder-out', r.encoderTmp, '--decoder-out', r.decoderTmp, '--io-names', JSON.stringify(r.io)];
  const env = { ...process.env, PYTHONPATH: [...r.pythonPath, ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(path.delimiter), PYTHONUNBUFFERED: '1' };
  return new Promise((resolve, reject) => {
    const child = spawn(r.python, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let result: VisionExportSummary | undefined;
    let failure: Error | undefined;
    const onAbort = () => child.kill('SIGTERM');
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const onLine = (line: string) => {
      if (!line.trim()) return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        stderr += `${line}\n`; // a stray print from imported code
        return;
      }
      const parsed = ExportEventSchema.safeParse(json);
      if (!parsed.success) {
        failure ??= new EngineError(`unexpected line from ${EXPORT_IBQ_SCRIPT}: ${line.slice(0, 500)} (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`);
        return;
      }
      const e = parsed.data;
      if (e.event === 'progress') {
        const { event: _e, stage, ...detail } = e;
        r.onProgress?.({ phase: 'export', stage, detail });
      } else if (e.event === 'error') {
        failure ??= exporterError(e.kind, e.message);
      } else {
        result = e;
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      for (let i = stdout.indexOf('\n'); i !== -1; i = stdout.indexOf('\n')) {
        onLine(stdout.slice(0, i));
        stdout = stdout.slice(i + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on('error', (err) => {
      failure ??= new EngineError(`cannot run ${r.python}: ${err.message} (convert vision needs Python 3 with torch, onnx and omegaconf: training/setup.sh installs them)`, { cause: err });
    });
    child.on('close', (code, sig) => {
      r.signal?.removeEventListener('abort', onAbort);
      if (stdout) onLine(stdout);
      if (r.signal?.aborted) return reject(new AbortError('convert vision was aborted', { cause: r.signal.reason }));
      if (failure) return reject(failure);
      if (code === 0 && result) return resolve(result);
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      reject(new EngineError(`${EXPORT_IBQ_SCRIPT} ${sig ? `was killed by ${sig}` : `exited with ${code}`} without a result${tail ? `:\n${tail}` : ''}`));
    });
  });
}

function exporterError(kind: 'deps' | 'emu35_src' | 'vq_dir' | 'config' | 'checkpoint' | 'selfcheck' | 'export', message: string): Error {
  switch (kind) {
    case 'emu35_src':
    case 'vq_dir':
    case 'config':
    case 'checkpoint':
      return new InputError('input_invalid', message);
    case 'deps':
      return new EngineError(`${message} (convert vision runs PyTorch; see sdk/convert/vision/export_ibq.py)`);
    default:
      return new EngineError(`IBQ export failed: ${message}`);
  }
}

async function hashFiles(files: string[], onProgress: ConvertVisionOptions['onProgress'], signal?: AbortSignal): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  for (const file of files) {
    const total = statSync(file).size;
    const hash = createHash('sha256');
    let done = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 8 * 2 ** 20 })) {
      throwIfAborted(signal);
      hash.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      onProgress?.({ phase: 'hash', name: path.basename(file), done, total });
    }
    out.push({ file: path.basename(file), bytes: total, sha256: hash.digest('hex') });
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
