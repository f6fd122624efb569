import { firstValueFrom, ignoreElements, tap, defaultIfEmpty } from 'rxjs';
import type { EmuBackend } from '../EmuBackend.ts';
import type { Observable } from 'rxjs';
import { AbortError, ConfigError, InputError, formatIssues, parseOrThrow, type SdkError } from '../errors.ts';
import type { GenerationEvent } from '../generation/GenerationEvent.ts';
import { SamplingOverridesSchema } from '../generation/TaskRequest.ts';
import type { EmuSession } from '../session/EmuSession.ts';
import { GenerationSessionOptionsSchema } from '../session/GenerationSession.ts';
import { TaskRequestSchema, type ParsedTaskRequest } from '../generation/TaskRequest.ts';
import type { ModelManifest } from '../model/ModelManifest.ts';
import { errorToWire, eventToWire, PROTOCOL_VERSION, type Hello, type ModelFacts, type ServerFrame, type ServerLimits } from './protocol.ts';
import { RequestScheduler } from './RequestScheduler.ts';
import { ServerMetrics } from './ServerMetrics.ts';

/** A backend a server can host: in-process, with its manifest (the handshake's facts) and tokenizer (the prompt limit). */
export interface ServableBackend extends EmuBackend {
  readonly manifest: ModelManifest;
  readonly tokenizer: { encodeWithin(text: string, maxTokens: number): number[] | undefined };
  /** Forward passes so far, finished work or not (OnnxBackend counts them). */
  readonly forwardPasses?: number;
  /** The provider it really runs on (OnnxBackend: after any fallback to cpu). */
  readonly device?: string;
}

export const SERVER_INFO = { name: 'emu-robotics', version: '0.1.0' };

/** The limits a server runs with when not told otherwise (sized from the model where that matters). */
export function defaultLimits(manifest: ModelManifest, over: Partial<ServerLimits> = {}): ServerLimits {
  // Sessions need the explore task's template (the others work too, but explore is what they are for).
  return {
    maxFrameBytes: 64 * 1024 * 1024,
    maxImages: 4,
    maxPixels: 4096 * 4096,
    maxPromptTokens: manifest.decoder.maxPositions,
    maxNewTokens: manifest.decoder.maxPositions,
    maxConcurrency: 1,
    maxQueue: 16,
    maxRequestsPerConnection: 8,
    maxSessionsPerConnection: 4,
    ...over,
  };
}

export function modelFacts(manifest: ModelManifest): ModelFacts {
  const sampling: ModelFacts['sampling'] = {};
  for (const [task, config] of Object.entries(manifest.tasks)) if (config) sampling[task as keyof typeof sampling] = config.sampling;
  return {
    name: manifest.name,
    version: manifest.version,
    tasks: Object.keys(manifest.tasks) as ModelFacts['tasks'],
    vocab: { size: manifest.vocab.size, visualOffset: manifest.vocab.visualOffset, codebookSize: manifest.vocab.codebookSize },
    maxPositions: manifest.decoder.maxPositions,
    imageSizing: { downsample: manifest.vision.downsample, aspectPresets: manifest.imageSizing.aspectPresets, defaultSeed: manifest.imageSizing.defaultSeed },
    sampling,
    decoderDtype: manifest.decoder.dtype,
  };
}

export function helloFrame(manifest: ModelManifest, limits: ServerLimits, device: string): Hello {
  return { t: 'hello', protocol: PROTOCOL_VERSION, server: SERVER_INFO, model: modelFacts(manifest), device, limits };
}

/** Validates a request against the SDK's schema and the server's limits (a typed error naming the limit). */
export function admitRequest(raw: unknown, backend: ServableBackend, limits: ServerLimits): ParsedTaskRequest {
  const parsed = TaskRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const { issues, text } = formatIssues(parsed.error.issues);
    throw new ConfigError(`Invalid request: ${text}`, issues);
  }
  const req = parsed.data;
  checkImages(req.images, limits);
  // Stops encoding as soon as the limit is passed: a 60 MB prompt costs no more than a long one.
  if (!backend.tokenizer.encodeWithin(req.prompt, limits.maxPromptTokens)) throw new InputError('context_overflow', `the prompt is over ${limits.maxPromptTokens} tokens, this server's limit (maxPromptTokens)`);
  const asked = req.sampling?.maxNewTokens;
  if (asked !== undefined && asked > limits.maxNewTokens) throw new InputError('input_invalid', `maxNewTokens ${asked} is over this server's limit of ${limits.maxNewTokens} (maxNewTokens)`);
  const preset = backend.manifest.tasks[req.task]?.sampling.maxNewTokens;
  // A preset over the server's limit (Emu3.5's 32768 = the whole context) is clipped to it.
  if (asked === undefined && preset !== undefined && preset > limits.maxNewTokens) req.sampling = { ...req.sampling, maxNewTokens: limits.maxNewTokens };
  return req;
}

/** What a front end (the WebSocket server) needs from whatever runs the requests: the in-process engine, or workers behind NATS. */
export interface Engine {
  /** The handshake's content (model facts, device, limits). */
  readonly hello: Hello;
  readonly modelName: string;
  /** Runs one request, sending its frames; resolves when it ended (done or error frame sent). Never throws. */
  serve(id: string, raw: unknown, ctx: { signal: AbortSignal; send(frame: ServerFrame): void }): Promise<unknown>;
  /** For /healthz and /metrics. */
  status(): { running: number; queued: number; forwardPasses?: number };
  /** Opens a session whose context stays here (validated against the schema and the limits). */
  openSession?(options: unknown): Promise<EmuSession>;
  /** One session step, served as a request is (queued, events, done or one error). Never throws. */
  serveStep?(session: EmuSession, id: string, text: string, sampling: unknown, ctx: { signal: AbortSignal; send(frame: ServerFrame): void }): Promise<unknown>;
  /** Where the engine counts requests and tokens (the server renders them at /metrics). */
  readonly metrics?: ServerMetrics;
  close?(): Promise<void>;
}

/**
 * The in-process engine: a backend with its limits and one scheduler (concurrency + queue) that
 * every front end of this process shares.
 */
export function localEngine(backend: ServableBackend, options: { limits?: Partial<ServerLimits>; device?: string; metrics?: ServerMetrics } = {}): Engine & { limits: ServerLimits; scheduler: RequestScheduler } {
  const limits = defaultLimits(backend.manifest, options.limits);
  const scheduler = new RequestScheduler(limits.maxConcurrency, limits.maxQueue);
  const metrics = options.metrics ?? new ServerMetrics();
  return {
    metrics,
    hello: helloFrame(backend.manifest, limits, backend.device ?? options.device ?? 'cpu'),
    modelName: backend.modelName,
    limits,
    scheduler,
    serve: (id, raw, ctx) => serveRequest(id, raw, { backend, limits, scheduler, metrics, signal: ctx.signal, send: ctx.send }),
    ...(backend.openSession
      ? {
          openSession: async (raw: unknown) => {
            const o = parseOrThrow(GenerationSessionOptionsSchema, raw, 'session options');
            checkImages(o.images, limits);
            return backend.openSession!(o);
          },
          serveStep: (session: EmuSession, id: string, text: string, sampling: unknown, ctx: { signal: AbortSignal; send(frame: ServerFrame): void }) =>
            streamThrough(id, 'session', { scheduler, metrics, ...ctx }, () => {
              if (text.length > limits.maxPromptTokens * 8) throw new InputError('context_overflow', `a command of ${text.length} characters is over this server's limit (maxPromptTokens ${limits.maxPromptTokens})`);
              const overrides = sampling === undefined ? undefined : parseOrThrow(SamplingOverridesSchema, sampling, 'step sampling');
              if (overrides?.maxNewTokens !== undefined && overrides.maxNewTokens > limits.maxNewTokens) throw new InputError('input_invalid', `maxNewTokens ${overrides.maxNewTokens} is over this server's limit of ${limits.maxNewTokens} (maxNewTokens)`);
              return session.step(text, { signal: ctx.signal, ...(overrides ? { sampling: overrides } : {}) });
            }),
        }
      : {}),
    status: () => ({ running: scheduler.running, queued: scheduler.queued, ...(backend.forwardPasses !== undefined ? { forwardPasses: backend.forwardPasses } : {}) }),
  };
}

function checkImages(images: readonly { width: number; height: number }[], limits: ServerLimits): void {
  if (images.length > limits.maxImages) throw new InputError('input_invalid', `${images.length} images in the request; this server takes at most ${limits.maxImages} (maxImages)`);
  images.forEach((im, i) => {
    if (im.width * im.height > limits.maxPixels) throw new InputError('image_invalid', `image ${i} is ${im.width}x${im.height} = ${im.width * im.height} px; this server takes at most ${limits.maxPixels} px per image (maxPixels)`);
  });
}

/**
 * Queued (positions sent), then the work's events sent as they come, ended by `done` or one error
 * frame. `start` may throw (a refused input): that is the error frame too. Never throws.
 */
async function streamThrough(
  id: string,
  task: string,
  ctx: { scheduler: RequestScheduler; metrics?: ServerMetrics; signal: AbortSignal; send(frame: ServerFrame): void },
  start: () => Observable<GenerationEvent>,
): Promise<'done' | SdkError['code']> {
  let release: (() => void) | undefined;
  try {
    const work = start();
    release = await ctx.scheduler.acquire(ctx.signal, (position) => ctx.send({ t: 'queued', id, position }));
    await firstValueFrom(
      work.pipe(
        tap((event) => {
          if (event.type === 'done') ctx.metrics?.usage(event.usage.generatedTokens, event.usage.forwardPasses.cond + event.usage.forwardPasses.uncond, event.usage.timings.decodeMs);
          ctx.send({ t: 'event', id, event: eventToWire(event) });
        }),
        ignoreElements(),
        defaultIfEmpty(undefined),
      ),
    );
    ctx.metrics?.request(task, 'done');
    return 'done';
  } catch (err) {
    const error = ctx.signal.aborted && !(err as SdkError).code ? new AbortError('cancelled', { cause: err }) : err;
    const body = errorToWire(error);
    ctx.metrics?.request(task, body.code);
    ctx.send({ t: 'error', id, error: body });
    return body.code as SdkError['code'];
  } finally {
    release?.();
  }
}

export interface ServeRequestContext {
  backend: ServableBackend;
  limits: ServerLimits;
  scheduler: RequestScheduler;
  metrics?: ServerMetrics;
  /** Aborted by a cancel, a disconnect or the server closing: stops the engine work underneath. */
  signal: AbortSignal;
  send(frame: ServerFrame): void;
}

/**
 * One request, start to end, as every front end (WebSocket, NATS worker) serves it: admitted
 * (schema + limits), queued (positions sent as they change), run on the engine with its events
 * sent as they come, and ended by the `done` event or one error frame. Never throws.
 */
export async function serveRequest(id: string, raw: unknown, ctx: ServeRequestContext): Promise<'done' | SdkError['code']> {
  const task = typeof (raw as { task?: unknown })?.task === 'string' ? String((raw as { task: string }).task) : 'unknown';
  return streamThrough(id, task, ctx, () => ctx.backend.generate(admitRequest(raw, ctx.backend, ctx.limits), { signal: ctx.signal }));
}
