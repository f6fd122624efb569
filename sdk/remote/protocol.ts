import { Packr } from 'msgpackr';
import { z } from 'zod';
import { errorFromCode, SdkError, type ValidationIssue } from '../errors.ts';
import type { GenerationEvent, Grid, OutputItem, Truncation } from '../generation/GenerationEvent.ts';
import type { TaskRequest } from '../generation/TaskRequest.ts';
import { RgbImageSchema, type RgbImage } from '../image/RgbImage.ts';
import { ParallelSchemeSchema, SamplingPresetSchema, TaskNameSchema } from '../model/ModelManifest.ts';

/**
 * The remote engine's wire protocol: msgpack frames over a WebSocket (or NATS messages), each a map
 * with a `t` tag. Binary data (images, token ids, visual codes) travels as msgpack `bin`, never as
 * arrays of numbers: token ids and codes as little-endian int32 bytes.
 *
 *   server → client: hello (first frame: protocol, model facts, limits), queued, event, error, pong
 *   client → server: request (client-chosen id + the SDK's TaskRequest), cancel, ping
 *
 * Version: the client offers `emu.v<N>` as its WebSocket subprotocol; a server that speaks another
 * version closes with CLOSE.protocolMismatch and says which it speaks.
 */
export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = `emu.v${PROTOCOL_VERSION}`;

/** WebSocket close codes the server uses (RFC 6455 where one fits, 4xxx for ours). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that is not msgpack, or not a frame this protocol has. */
  malformed: 1002,
  /** A text frame: this protocol is binary. */
  unsupported: 1003,
  policy: 1008,
  tooBig: 1009,
  protocolMismatch: 4000,
  /** The client read too slowly: its send buffer passed the server's bound. */
  slowReader: 4008,
} as const;

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function encodeFrame(frame: ServerFrame | ClientFrame): Uint8Array {
  return packr.pack(frame);
}

/** Decodes msgpack bytes (a SyntaxError-like Error on garbage; the caller closes with CLOSE.malformed). */
export function decodeFrame(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

const bin = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected msgpack binary' });
const id = z.string().min(1).max(64);

/** int32 ids/codes → little-endian bytes (msgpack bin). */
export function int32Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(i * 4, values[i]!, true);
  return out;
}

export function fromInt32Bytes(bytes: Uint8Array): number[] {
  if (bytes.length % 4 !== 0) throw new SdkError('transport_failed', `int32 payload of ${bytes.length} bytes is not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

// ---- what the server says about itself (the handshake) ----

export const ServerLimitsSchema = z.object({
  /** Largest frame accepted. @unit bytes */
  maxFrameBytes: z.number().int().positive(),
  maxImages: z.number().int().nonnegative(),
  /** Per reference image. @unit px */
  maxPixels: z.number().int().positive(),
  maxPromptTokens: z.number().int().positive(),
  maxNewTokens: z.number().int().positive(),
  maxConcurrency: z.number().int().positive(),
  maxQueue: z.number().int().nonnegative(),
  /** Requests one connection may have open (running or queued). */
  maxRequestsPerConnection: z.number().int().positive(),
  /** Sessions (kept contexts) one connection may hold; 0: the server has none. */
  maxSessionsPerConnection: z.number().int().nonnegative().default(0),
});
export type ServerLimits = z.infer<typeof ServerLimitsSchema>;

export const ModelFactsSchema = z.object({
  name: z.string(),
  version: z.string(),
  tasks: z.array(TaskNameSchema),
  vocab: z.object({ size: z.number().int(), visualOffset: z.number().int(), codebookSize: z.number().int() }),
  /** The context: prompt + generated tokens. */
  maxPositions: z.number().int().positive(),
  imageSizing: z.object({ downsample: z.number().int().positive(), aspectPresets: z.record(z.string(), z.tuple([z.number().int(), z.number().int()])), defaultSeed: z.number().int() }),
  sampling: z.partialRecord(TaskNameSchema, SamplingPresetSchema),
  decoderDtype: z.string(),
});
export type ModelFacts = z.infer<typeof ModelFactsSchema>;

const HelloSchema = z.object({
  t: z.literal('hello'),
  protocol: z.number().int(),
  server: z.object({ name: z.string(), version: z.string() }),
  model: ModelFactsSchema,
  device: z.string(),
  limits: ServerLimitsSchema,
});
export type Hello = z.infer<typeof HelloSchema>;

// ---- events (the SDK's GenerationEvent union, binary fields as bin) ----

const GridSchema = z.object({ rows: z.number().int().positive(), cols: z.number().int().positive() });
const WireImageSchema = z.object({ width: z.number().int().positive(), height: z.number().int().positive(), data: bin });
const WireItemSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('global_cot'), text: z.string() }),
  z.object({ type: z.literal('image_cot'), text: z.string() }),
  z.object({ type: z.literal('image'), grid: GridSchema, codes: bin, image: WireImageSchema.optional() }),
]);
const UsageSchema = z.object({
  promptTokens: z.number().int(),
  uncondPromptTokens: z.number().int(),
  generatedTokens: z.number().int(),
  forwardPasses: z.object({ cond: z.number().int(), uncond: z.number().int(), image: z.number().int().optional(), batched: z.number().int().optional() }),
  imageTokens: z.number().int().optional(),
  imageDecoding: ParallelSchemeSchema.optional(),
  timings: z.object({ prefillMs: z.number(), decodeMs: z.number(), visionMs: z.number(), samplingMs: z.number().optional(), totalMs: z.number() }),
  stopReason: z.enum(['eos', 'eoi', 'max_tokens']),
});
const WireEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), task: TaskNameSchema, promptTokens: z.number().int(), uncondPromptTokens: z.number().int(), seed: z.number().int() }),
  z.object({ type: z.literal('text.delta'), text: z.string() }),
  z.object({ type: z.literal('cot.delta'), kind: z.enum(['global', 'image']), text: z.string() }),
  z.object({ type: z.literal('image.start'), index: z.number().int(), grid: GridSchema }),
  z.object({ type: z.literal('image.progress'), index: z.number().int(), rowsDone: z.number().int(), rows: z.number().int() }),
  z.object({ type: z.literal('image.done'), index: z.number().int(), grid: GridSchema, codes: bin, image: WireImageSchema.optional() }),
  z.object({
    type: z.literal('done'),
    output: z.array(WireItemSchema),
    tokens: bin,
    usage: UsageSchema,
    truncated: z
      .object({ reason: z.literal('max_tokens'), image: z.object({ index: z.number().int(), grid: GridSchema.optional(), rowsDone: z.number().int(), codes: bin }).optional() })
      .optional(),
  }),
]);

const ErrorBodySchema = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().default(false),
  issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })).optional(),
});

export const ServerFrameSchema = z.discriminatedUnion('t', [
  HelloSchema,
  z.object({ t: z.literal('queued'), id, position: z.number().int().positive() }),
  z.object({ t: z.literal('event'), id, event: WireEventSchema }),
  z.object({ t: z.literal('error'), id: id.optional(), error: ErrorBodySchema }),
  z.object({ t: z.literal('pong'), at: z.number() }),
  /** A session's state after it opened, forked or finished a step (the client's getters). */
  z.object({ t: z.literal('session.state'), sid: id, turns: z.number().int(), length: z.number().int(), dropped: z.number().int(), maxPositions: z.number().int() }),
]);
export type ServerFrame = z.input<typeof ServerFrameSchema>;

/** The request as it travels: the SDK's TaskRequest (images' pixels as bin, checked by its own schema on the server). */
export const ClientFrameSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('request'), id, request: z.record(z.string(), z.unknown()) }),
  z.object({ t: z.literal('cancel'), id }),
  z.object({ t: z.literal('ping'), at: z.number() }),
  // Sessions: the context stays on the server. A step streams as a request (events, done or error, under its id).
  z.object({ t: z.literal('session.open'), sid: id, options: z.record(z.string(), z.unknown()) }),
  z.object({ t: z.literal('session.step'), id, sid: id, text: z.string(), sampling: z.record(z.string(), z.unknown()).optional() }),
  z.object({ t: z.literal('session.fork'), sid: id, from: id }),
  z.object({ t: z.literal('session.close'), sid: id }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

// ---- conversions ----

function imageToWire(image: RgbImage): RgbImage {
  return { width: image.width, height: image.height, data: image.data };
}

/** A GenerationEvent as it travels (codes and tokens as int32 bytes). */
export function eventToWire(event: GenerationEvent): z.input<typeof WireEventSchema> {
  switch (event.type) {
    case 'image.done':
      return { ...event, codes: int32Bytes(event.codes), ...(event.image ? { image: imageToWire(event.image) } : {}) };
    case 'done': {
      const { truncated, output, tokens, ...rest } = event;
      return {
        ...rest,
        output: output.map((item) => (item.type === 'image' ? { ...item, codes: int32Bytes(item.codes), ...(item.image ? { image: imageToWire(item.image) } : {}) } : item)),
        tokens: int32Bytes(tokens),
        ...(truncated ? { truncated: truncationToWire(truncated) } : {}),
      };
    }
    default:
      return event;
  }
}

function truncationToWire(t: Truncation): { reason: 'max_tokens'; image?: { index: number; grid?: Grid; rowsDone: number; codes: Uint8Array } } {
  if (!t.image) return { reason: t.reason };
  return { reason: t.reason, image: { ...t.image, codes: int32Bytes(t.image.codes) } };
}

function imageFromWire(image: { width: number; height: number; data: Uint8Array }): RgbImage {
  // A plain Uint8Array view of the received bytes (msgpackr hands out Buffers): no copy.
  const { data } = image;
  return RgbImageSchema.parse({ width: image.width, height: image.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
}

/** The event the engine emitted, rebuilt from a validated frame. */
export function eventFromWire(wire: z.output<typeof WireEventSchema>): GenerationEvent {
  switch (wire.type) {
    case 'image.done': {
      const { image, codes, ...rest } = wire;
      return { ...rest, codes: fromInt32Bytes(codes), ...(image ? { image: imageFromWire(image) } : {}) };
    }
    case 'done': {
      const output: OutputItem[] = wire.output.map((item) => {
        if (item.type !== 'image') return item;
        const { image, codes, ...rest } = item;
        return { ...rest, codes: fromInt32Bytes(codes), ...(image ? { image: imageFromWire(image) } : {}) };
      });
      const truncated = wire.truncated && { ...wire.truncated, ...(wire.truncated.image ? { image: { ...wire.truncated.image, codes: fromInt32Bytes(wire.truncated.image.codes) } } : {}) };
      return { type: 'done', output, tokens: fromInt32Bytes(wire.tokens), usage: wire.usage, ...(truncated ? { truncated: truncated as never } : {}) };
    }
    default:
      return wire as GenerationEvent;
  }
}

/** A request as it travels: images' pixels are already bytes (msgpack bin), everything else as given. */
export function requestToWire(request: TaskRequest): Record<string, unknown> {
  return { ...request, ...(request.images ? { images: request.images.map(imageToWire) } : {}) } as Record<string, unknown>;
}

export function errorToWire(err: unknown): z.input<typeof ErrorBodySchema> {
  if (err instanceof SdkError) {
    const issues = (err as SdkError & { issues?: ValidationIssue[] }).issues;
    const retryable = (err as SdkError & { retryable?: boolean }).retryable ?? false;
    return { code: err.code, message: err.message, retryable, ...(issues?.length ? { issues } : {}) };
  }
  return { code: 'engine_failed', message: (err as Error)?.message ?? String(err), retryable: false };
}

/** The same SdkError subclass as on the server. */
export function errorFromWire(body: z.output<typeof ErrorBodySchema>): SdkError {
  return errorFromCode(body.code, body.message, { retryable: body.retryable, ...(body.issues ? { issues: body.issues } : {}) });
}

