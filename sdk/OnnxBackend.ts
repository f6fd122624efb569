import type * as ort from 'onnxruntime-node';
import { defer, Observable } from 'rxjs';
import type { EmuBackend } from './EmuBackend.ts';
import { InputError, ModelError, parseOrThrow, throwIfAborted } from './errors.ts';
import type { GenerationEvent, Grid } from './generation/GenerationEvent.ts';
import { generate } from './generation/generate.ts';
import type { LoopIds } from './generation/GenerationLoop.ts';
import { resolveImageSize } from './generation/resolveImageSize.ts';
import { resolveSampling } from './generation/resolveSampling.ts';
import { TaskRequestSchema, type ParsedTaskRequest, type RequestOptions, type TaskRequest } from './generation/TaskRequest.ts';
import { loadManifest, resolveModelPath } from './model/loadManifest.ts';
import { TASKS, type ModelManifest, type TaskName } from './model/ModelManifest.ts';
import { multimodalDecode } from './output/multimodalDecode.ts';
import { outputMarkersFor, type OutputMarkers } from './output/outputMarkers.ts';
import { buildPrompts } from './prompt/buildPrompts.ts';
import { DecoderSession, releaseDecoder } from './runtime/DecoderSession.ts';
import type { Device, SessionOptions } from './runtime/createSession.ts';
import { VisionTokenizer } from './runtime/VisionTokenizer.ts';
import { TiktokenTokenizer } from './tokenizer/TiktokenTokenizer.ts';
import { GenerationSession, type GenerationSessionOptions, type SessionHost } from './session/GenerationSession.ts';

/**
 * How `OnnxBackend.load` opens its graphs: device (cpu|cuda|webgpu, falling back to cpu), ORT threads, a
 * notice log; `batchGuidance: false` runs the two guidance streams as separate passes during images
 * (default: one batch-2 pass where the graph's batch axis is free; same tokens, half the passes).
 */
export type OnnxBackendOptions = SessionOptions & { batchGuidance?: boolean };

/** Runs a model folder in-process on onnxruntime-node. One decoder session serves both CFG streams. */
export class OnnxBackend implements EmuBackend {
  readonly manifest: ModelManifest;
  readonly tokenizer: TiktokenTokenizer;
  readonly #decoder: ort.InferenceSession;
  readonly #vision: VisionTokenizer;
  readonly #ids: LoopIds;
  readonly #markers: OutputMarkers;
  readonly #batchGuidance: boolean;

  private constructor(manifest: ModelManifest, tokenizer: TiktokenTokenizer, decoder: ort.InferenceSession, vision: VisionTokenizer, batchGuidance: boolean) {
    this.manifest = manifest;
    this.#batchGuidance = batchGuidance;
    this.tokenizer = tokenizer;
    this.#decoder = decoder;
    this.#vision = vision;
    this.#ids = loopIds(manifest, tokenizer);
    this.#markers = outputMarkersFor(manifest, tokenizer);
  }

  /** Loads and checks the manifest, tokenizer and the three graphs (ModelError when missing or mismatched). */
  static async load(modelDir: string, options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const { manifest, dir } = await loadManifest(modelDir);
    const tokenizer = await TiktokenTokenizer.fromManifest(manifest, dir);
    // The decoder's provider is the one that matters for speed (the vision graphs run once per image).
    let device: Device = options.device ?? 'cpu';
    const decoder = await DecoderSession.openSession(resolveModelPath(dir, manifest.decoder.file), manifest.decoder, manifest.vocab.size, {
      ...options,
      onDevice: (d) => {
        device = d;
        options.onDevice?.(d);
      },
    });
    let vision: VisionTokenizer;
    try {
      vision = await VisionTokenizer.open(
        resolveModelPath(dir, manifest.vision.encoder),
        resolveModelPath(dir, manifest.vision.decoder),
        manifest.vision,
        manifest.vocab.codebookSize,
        options,
      );
    } catch (err) {
      await releaseDecoder(decoder);
      throw err;
    }
    const backend = new OnnxBackend(manifest, tokenizer, decoder, vision, options.batchGuidance ?? true);
    backend.device = device;
    return backend;
  }

  /** The provider the decoder really runs on: the one asked for, or cpu after a fallback. */
  device: Device = 'cpu';

  get modelName(): string {
    return this.manifest.name;
  }

  get tasks(): readonly TaskName[] {
    return TASKS.filter((t) => this.manifest.tasks[t] !== undefined);
  }

  /** Decoder forward passes run so far, over every request, finished or not (cancelled work stops adding). */
  get forwardPasses(): number {
    return this.#forwardPasses;
  }

  #forwardPasses = 0;
  readonly #countForward = () => void this.#forwardPasses++;

  get vision(): VisionTokenizer {
    return this.#vision;
  }

  generate(request: TaskRequest, options: RequestOptions = {}): Observable<GenerationEvent> {
    return defer(() => {
      const controller = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
      return new Observable<GenerationEvent>((subscriber) => {
        const inner = { unsubscribe: () => {} };
        this.#prepare(request, signal).then(
          (params) => {
            if (subscriber.closed) return;
            const sub = generate(params, signal).subscribe(subscriber);
            inner.unsubscribe = () => sub.unsubscribe();
          },
          (err: unknown) => subscriber.error(err),
        );
        return () => {
          controller.abort();
          inner.unsubscribe();
        };
      });
    });
  }

  /** Validation, reference encoding, prompts, size rules and context check: everything before the loop. */
  async #prepare(request: TaskRequest, signal: AbortSignal) {
    throwIfAborted(signal);
    const req = this.#validate(request);
    const task = this.manifest.tasks[req.task]!;
    const sampling = resolveSampling(task.sampling, req.sampling);
    const refs = [];
    const maxTokens = this.manifest.decoder.maxPositions;
    for (const image of req.images) refs.push(await this.#vision.encode(image, sampling.imageArea, signal, maxTokens));
    throwIfAborted(signal);
    const prompts = buildPrompts({ manifest: this.manifest, tokenizer: this.tokenizer, task: req.task, question: req.prompt, images: refs, allowSpecialTokens: req.allowSpecialTokens });
    const maxPositions = this.manifest.decoder.maxPositions;
    const room = maxPositions - prompts.cond.length;
    if (room < 1 || (req.sampling?.maxNewTokens !== undefined && req.sampling.maxNewTokens > room)) {
      throw new InputError(
        'context_overflow',
        `prompt of ${prompts.cond.length} tokens + maxNewTokens ${sampling.maxNewTokens} exceeds the model's context of ${maxPositions} positions`,
      );
    }
    // A preset budget (e.g. 32768 = the whole context) is clipped to what the context leaves.
    sampling.maxNewTokens = Math.min(sampling.maxNewTokens, room);
    const fixedGrid: Grid | undefined = resolveImageSize({
      ...(req.grid ? { grid: req.grid } : {}),
      aspect: req.aspect ?? (req.images.length === 0 ? task.defaultAspect : undefined),
      aspectPresets: this.manifest.imageSizing.aspectPresets,
      uncondIds: prompts.uncond,
      ids: this.#ids,
      room,
    });
    const decoderSpec = this.manifest.decoder;
    const vocab = this.manifest.vocab.size;
    return {
      task: req.task,
      cond: new DecoderSession(this.#decoder, decoderSpec, vocab, this.#countForward),
      uncond: sampling.cfg === 1 ? undefined : new DecoderSession(this.#decoder, decoderSpec, vocab, this.#countForward),
      condPrompt: prompts.cond,
      uncondPrompt: prompts.uncond,
      ids: this.#ids,
      sampling,
      seed: req.seed ?? this.manifest.imageSizing.defaultSeed,
      fixedGrid,
      stopAtEoi: task.stopAtEoi,
      batchGuidance: this.#batchGuidance,
      decodeText: (ids: number[]) => this.tokenizer.decode(ids),
      parseOutput: (text: string) => multimodalDecode(text, this.#markers),
      decodeImage: req.decodeImages ? (grid: Grid, codes: number[], s: AbortSignal) => this.#vision.decode(grid, codes, s) : undefined,
    };
  }

  /**
   * A multi-turn session (explore: each command moves the camera) that keeps its KV cache between
   * steps. See GenerationSession.
   */
  async openSession(options: GenerationSessionOptions = {}): Promise<GenerationSession> {
    const decoderSpec = this.manifest.decoder;
    const vocab = this.manifest.vocab.size;
    const host: SessionHost = {
      manifest: this.manifest,
      tokenizer: this.tokenizer,
      newCache: () => new DecoderSession(this.#decoder, decoderSpec, vocab, this.#countForward),
      encodeImage: (image, area, signal) => this.#vision.encode(image, area, signal, decoderSpec.maxPositions),
      loopBase: () => ({
        ids: this.#ids,
        batchGuidance: this.#batchGuidance,
        decodeText: (ids: number[]) => this.tokenizer.decode(ids),
        parseOutput: (text: string) => multimodalDecode(text, this.#markers),
        decodeImage: (grid: Grid, codes: number[], s: AbortSignal) => this.#vision.decode(grid, codes, s),
      }),
    };
    return new GenerationSession(host, options);
  }

  #validate(request: TaskRequest): ParsedTaskRequest {
    const task = (request as { task?: unknown })?.task;
    if (typeof task === 'string' && !this.manifest.tasks[task as TaskName]) {
      throw new InputError('unknown_task', `unknown task '${task}'; model '${this.manifest.name}' supports: ${this.tasks.join(', ')}`);
    }
    return parseOrThrow(TaskRequestSchema, request, 'task request');
  }

  async close(): Promise<void> {
    await Promise.all([releaseDecoder(this.#decoder), this.#vision.close()]);
  }
}

/** Grammar and streamer ids from the manifest; digits and '*' from the tokenizer (single-token by the BPE rules). */
function loopIds(m: ModelManifest, tok: TiktokenTokenizer): LoopIds {
  const single = (ch: string) => {
    const ids = tok.encode(ch);
    if (ids.length !== 1) throw new ModelError('model_mismatch', `tokenizer encodes '${ch}' as ${ids.length} tokens; the image header needs one`);
    return ids[0]!;
  };
  const v = m.vocab.ids;
  return {
    boi: v.boi,
    eoi: v.eoi,
    img: v.img,
    eol: v.eol,
    eos: v.eos,
    bog: v.bog,
    eog: v.eog,
    boc: v.boc,
    eoc: v.eoc,
    hidden: [v.ess, v.eos],
    digits: [...'0123456789'].map(single),
    star: single('*'),
    visualOffset: m.vocab.visualOffset,
    vocabSize: m.vocab.size,
  };
}
