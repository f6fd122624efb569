import * as ort from 'onnxruntime-node';
import { InputError, ModelError, throwIfAborted } from '../errors.ts';
import type { DecoderSpec } from '../model/ModelManifest.ts';
import type { CausalLm } from '../generation/CausalLm.ts';
import { checkSessionIo } from './checkSessionIo.ts';
import { createSession, engineFailure, type SessionOptions } from './createSession.ts';
import { BatchedGuidance } from './BatchedGuidance.ts';
import { DeviceKv, DeviceWork, KvHolders, onDevice } from './DeviceKv.ts';
import { logitRows } from './logitRows.ts';

/** A decoder graph and its I/O names, shared by every stream (and batch) that runs it. */
export interface DecoderGraph {
  session: ort.InferenceSession;
  spec: DecoderSpec;
  vocabSize: number;
  pastNames: readonly string[];
  presentNames: readonly string[];
  /** Present when the graph keeps its KV cache on the GPU: the cache operations that stay there. */
  deviceKv?: DeviceKv;
}

/** The device-side cache operations of each decoder graph that keeps its cache on the GPU. */
const deviceKvOf = new WeakMap<ort.InferenceSession, DeviceKv>();

/** Releases a decoder graph and, where it has them, its device cache operations. */
export async function releaseDecoder(session: ort.InferenceSession): Promise<void> {
  const kv = deviceKvOf.get(session);
  deviceKvOf.delete(session);
  await Promise.all([session.release(), kv?.release()]);
}

/** One stream's KV cache: [1,kvHeads,P or capacity,headDim] per past name, its length, and how to take a new one back. */
export interface KvHandle {
  /** Settles work a device cache still has queued (a truncation, a row handed back); `past` is then current. */
  ready(): Promise<void>;
  readonly past: Record<string, ort.Tensor>;
  readonly length: number;
  /** Each slot's position id (`length` entries). */
  slotPositions: BigInt64Array;
  /** Counts one forward pass on this stream (a batch-2 pass counts once, on the conditional stream). */
  countForward(): void;
  /**
   * Replaces the cache with `past` of `length` slots at `positions`, `fed` being the ids appended since the
   * handle was taken. A device cache may hand back a promise: the stream's next forward waits for it.
   */
  adopt(past: Record<string, ort.Tensor> | Promise<Record<string, ort.Tensor>>, length: number, fed: readonly number[], positions: BigInt64Array): void;
}

/** Whether the graph's batch axis is free (symbolic), so two streams can run as one batch-2 pass. */
function batchable(session: ort.InferenceSession, spec: DecoderSpec): boolean {
  const meta = session.inputMetadata?.find((m) => m.name === spec.io.inputIds);
  return meta !== undefined && meta.isTensor && typeof meta.shape[0] === 'string';
}

/** The graph's past (inputs) or present (outputs) KV names, key then value per layer. */
function kvNames(spec: DecoderSpec, which: 'past' | 'present'): string[] {
  const [key, value] = which === 'past' ? [spec.io.pastKey, spec.io.pastValue] : [spec.io.presentKey, spec.io.presentValue];
  return Array.from({ length: spec.numLayers }, (_, i) => [key.replace('{i}', String(i)), value.replace('{i}', String(i))]).flat();
}

/** Prompt tokens per forward pass when prefilling (see `feed`). */
export const PREFILL_CHUNK = 512;

/** `logits_to_keep` = 1: the engine samples from the last position only. */
const KEEP_ONE = new ort.Tensor('int64', BigInt64Array.of(1n), [1]);

/**
 * The decoder-with-past contract: `input_ids`/`attention_mask`/`position_ids` int64, `past_key_values.{i}.key|value`
 * [1,kvHeads,P,headDim] (P=0 at prefill) → `logits` [1,S,V] + `present.{i}.key|value`. One instance = one KV
 * cache; several instances may share one ORT session (cond and uncond streams).
 *
 * On WebGPU the cache stays in GPU memory (`deviceKv`): presents come back as `gpu-buffer` tensors and
 * are fed again as the next pasts, so a step moves only ids, masks and one row of logits. Truncation,
 * forks and guidance batches then run as small graphs on the device (`DeviceKv`); since those are
 * asynchronous and `truncate`/`clone` are not, they are queued and the next forward waits for them.
 */
export class DecoderSession implements CausalLm {
  readonly #session: ort.InferenceSession;
  readonly #spec: DecoderSpec;
  readonly #vocabSize: number;
  readonly #pastNames: string[];
  readonly #presentNames: string[];
  #past: Record<string, ort.Tensor> = {};
  /** Who holds `#past` (a fork shares a device cache with its parent). */
  #holders = new KvHolders();
  readonly #deviceKv: DeviceKv | undefined;
  /** Device cache work queued by synchronous calls; every forward waits for it (a failure lasts until `reset()`). */
  readonly #work = new DeviceWork('device KV cache update');
  #cutQueued = false;
  #ones: BigInt64Array = new BigInt64Array(0);
  /** The position id of every slot (slot order = feed order; positions differ when fed out of order). */
  #slotPositions: BigInt64Array = new BigInt64Array(0);
  #length = 0;
  #forwardPasses = 0;
  /** Every id fed, in order: the cache's contents. */
  readonly tokens: number[] = [];

  readonly #onForward: (() => void) | undefined;

  /** `onForward`: called after every forward pass (the backend's running total counts unfinished work too). */
  constructor(session: ort.InferenceSession, spec: DecoderSpec, vocabSize: number, onForward?: () => void) {
    this.#session = session;
    this.#deviceKv = deviceKvOf.get(session);
    this.#onForward = onForward;
    this.#spec = spec;
    this.#vocabSize = vocabSize;
    this.#pastNames = kvNames(spec, 'past');
    this.#presentNames = kvNames(spec, 'present');
    this.reset();
  }

  /** Opens the graph and checks it against the manifest (names, KV dims, vocab). */
  static async openSession(path: string, spec: DecoderSpec, vocabSize: number, options: SessionOptions = {}): Promise<ort.InferenceSession> {
    let device = options.device ?? 'cpu';
    const onDeviceCb = options.onDevice;
    const session = await createSession(path, { ...options, onDevice: (d) => ((device = d), onDeviceCb?.(d)) }, { deviceOutputs: kvNames(spec, 'present') });
    const kv = [1, spec.numKvHeads, null, spec.headDim];
    const inputs: Record<string, (number | null)[]> = {
      [spec.io.inputIds]: [1, null],
      [spec.io.attentionMask]: [1, null],
      [spec.io.positionIds]: [1, null],
    };
    if (spec.io.logitsToKeep) inputs[spec.io.logitsToKeep] = [1];
    const outputs: Record<string, (number | null)[]> = { [spec.io.logits]: [1, null, vocabSize] };
    for (let i = 0; i < spec.numLayers; i++) {
      const l = String(i);
      inputs[spec.io.pastKey.replace('{i}', l)] = kv;
      inputs[spec.io.pastValue.replace('{i}', l)] = kv;
      outputs[spec.io.presentKey.replace('{i}', l)] = kv;
      outputs[spec.io.presentValue.replace('{i}', l)] = kv;
    }
    try {
      checkSessionIo(session, `decoder ${path}`, { inputs, outputs });
      if (device === 'webgpu' && options.deviceKv !== false) deviceKvOf.set(session, await DeviceKv.open(spec.dtype === 'float16' ? 'float16' : 'float32'));
    } catch (err) {
      await releaseDecoder(session);
      throw err;
    }
    return session;
  }

  get length(): number {
    return this.#length;
  }

  /** Where the cache is now: `device` once a WebGPU graph has returned it in GPU memory. */
  get kvLocation(): 'host' | 'device' {
    const first = this.#past[this.#pastNames[0]!];
    return first && onDevice(first) ? 'device' : 'host';
  }

  /** Whether the graph masks attention by position (`io.keyPositions`), so ids may be fed out of order. */
  get positionMask(): boolean {
    return this.#spec.io.keyPositions !== undefined;
  }

  /**
   * Both guidance streams as one batch-2 forward (this = conditional) when the other stream shares this
   * graph and the graph's batch axis is free; otherwise undefined (the loop runs them separately).
   */
  pairWith(uncond: CausalLm): BatchedGuidance | undefined {
    if (!(uncond instanceof DecoderSession) || uncond === this || uncond.#session !== this.#session) return undefined;
    if (!batchable(this.#session, this.#spec)) return undefined;
    return new BatchedGuidance(this.#graph(), this.#kv(), uncond.#kv());
  }

  /** What a batched forward needs of this graph; passes it runs count on this session. */
  #graph(): DecoderGraph {
    return {
      session: this.#session,
      spec: this.#spec,
      vocabSize: this.#vocabSize,
      pastNames: this.#pastNames,
      presentNames: this.#presentNames,
      ...(this.#deviceKv && { deviceKv: this.#deviceKv }),
    };
  }

  /** This stream's cache, to be merged into a batch and written back when the batch closes. */
  #kv(): KvHandle {
    const self = this;
    return {
      ready: () => this.#work.settle(),
      get past() {
        return self.#past;
      },
      get length() {
        return self.#length;
      },
      slotPositions: this.#slotPositions.subarray(0, this.#length),
      countForward: () => {
        this.#forwardPasses++;
        this.#onForward?.();
      },
      adopt: (past, length, fed, positions) => {
        if (past instanceof Promise) this.#work.defer(async () => this.#setPast(await past));
        else this.#setPast(past);
        this.#length = length;
        this.#growPositions(length);
        this.#slotPositions.set(positions, 0);
        this.tokens.push(...fed);
      },
    };
  }

  get forwardPasses(): number {
    return this.#forwardPasses;
  }

  /** Empties the cache (a shared-layout cache keeps its buffers for reuse). */
  reset(): void {
    this.#length = 0;
    this.tokens.length = 0;
    const empty = (): void => {
      if (!this.#shared || Object.keys(this.#past).length === 0 || this.#work.failure !== undefined) this.#setPast(this.#allocate(0));
      this.#work.failure = undefined;
    };
    // A device cache may still have work queued (a row handed back by a guidance batch): it runs first.
    if (this.#deviceKv) this.#work.defer(empty);
    else empty();
  }

  get #shared(): boolean {
    return this.#spec.kvCache === 'shared';
  }

  /**
   * Whether presents are written into the pasts' own buffers (shared layout on the host). A device
   * cache never is: the binding returns a new GPU buffer for each present, and GroupQueryAttention
   * copies the past into it on the device.
   */
  get #inPlace(): boolean {
    return this.#shared && !this.#deviceKv;
  }

  /** Takes `next` as the cache, letting go of the old one (its GPU buffers are freed when no fork holds them). */
  #setPast(next: Record<string, ort.Tensor>): void {
    if (next === this.#past) return;
    this.#holders.release(this.#past);
    this.#past = next;
    this.#holders = new KvHolders();
  }

  /** Zeroed [1, kvHeads, positions, headDim] tensors, one per past name. */
  #allocate(positions: number): Record<string, ort.Tensor> {
    const half = this.#spec.dtype === 'float16';
    const dims = [1, this.#spec.numKvHeads, positions, this.#spec.headDim];
    const size = this.#spec.numKvHeads * positions * this.#spec.headDim;
    return Object.fromEntries(this.#pastNames.map((n) => [n, half ? new ort.Tensor('float16', new Uint16Array(size), dims) : new ort.Tensor('float32', new Float32Array(size), dims)]));
  }

  /**
   * Shared layout: room for `needed` positions, growing by doubling (capped at maxPositions) and
   * copying the kept positions, so appends are amortised O(1) and a step never copies the history.
   */
  #reserve(needed: number): void {
    if (!this.#inPlace) return; // a device cache grows on its own: each present is a new buffer
    const capacity = Number(this.#past[this.#pastNames[0]!]!.dims[2]);
    if (needed <= capacity) return;
    const grown = Math.min(this.#spec.maxPositions, Math.max(needed, capacity * 2, 256));
    const next = this.#allocate(grown);
    const { numKvHeads: h, headDim: d } = this.#spec;
    for (const name of this.#pastNames) {
      const src = this.#past[name]!.data as Float32Array | Uint16Array;
      const dst = next[name]!.data as Float32Array | Uint16Array;
      for (let k = 0; k < h; k++) dst.set(src.subarray(k * capacity * d, k * capacity * d + this.#length * d), k * grown * d);
    }
    this.#past = next;
  }

  /**
   * Drops the cache back to its first `length` positions, exactly as if only those had been fed
   * (a cancelled session step rolls back this way). Copies the kept part of every layer.
   */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.#length) throw new InputError('input_invalid', `cannot truncate a cache of ${this.#length} positions to ${length}`);
    if (length === this.#length) return;
    if (this.#deviceKv && !this.#shared) return this.#truncateOnDevice(length);
    if (this.#shared) {
      // Positions past `length` are never attended to (seqlens_k bounds them) and the next feed overwrites them.
      this.#length = length;
      this.tokens.length = length;
      return;
    }
    if (length === 0) return this.reset();
    const { numKvHeads: h, headDim: d } = this.#spec;
    const from = this.#length;
    for (const name of this.#pastNames) {
      const t = this.#past[name]!;
      const src = t.data as Float32Array | Uint16Array;
      const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(h * length * d);
      // [1, heads, positions, headDim]: per head, the first `length` rows.
      for (let k = 0; k < h; k++) dst.set(src.subarray(k * from * d, k * from * d + length * d), k * length * d);
      this.#past[name] = new ort.Tensor(t.type as 'float32', dst as Float32Array, [1, h, length, d]);
    }
    this.#length = length;
    this.tokens.length = length;
  }

  /** concat layout on the device: the cut runs as a Slice on the GPU before the next forward. */
  #truncateOnDevice(length: number): void {
    this.#length = length;
    this.tokens.length = length;
    if (length === 0) return this.reset();
    if (this.#cutQueued) return; // the queued cut reads the length when it runs
    this.#cutQueued = true;
    this.#work.defer(async () => {
      this.#cutQueued = false;
      const kept = this.#length;
      if (Number(this.#past[this.#pastNames[0]!]!.dims[2]) <= kept) return;
      const cut: Record<string, ort.Tensor> = {};
      for (const name of this.#pastNames) cut[name] = await this.#deviceKv!.slice(this.#past[name]!, [0, 1], [0, kept]);
      this.#setPast(cut);
    });
  }

  /** An independent copy of this cache (a session fork): same contents, its own future. */
  clone(): DecoderSession {
    const copy = new DecoderSession(this.#session, this.#spec, this.#vocabSize, this.#onForward);
    copy.#length = this.#length;
    copy.#slotPositions = this.#slotPositions.slice();
    copy.tokens.push(...this.tokens);
    if (this.#deviceKv) {
      // A device cache is never written in place, so parent and fork share its buffers until either moves on.
      const parentIdle = this.#work.idle;
      copy.#work.defer(async () => {
        await parentIdle;
        copy.#setPast({ ...this.#past });
        copy.#holders = this.#holders.share();
        copy.#work.failure = this.#work.failure;
      });
      // The parent moves on only once the fork has taken its share.
      this.#work.defer(() => copy.#work.idle);
      return copy;
    }
    copy.#past = Object.fromEntries(
      Object.entries(this.#past).map(([name, t]) => [name, new ort.Tensor(t.type as 'float32', (t.data as Float32Array).slice(), t.dims as number[])]),
    );
    return copy;
  }

  /** Prefill from an empty cache. */
  prefill(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    this.reset();
    return this.feed(ids, signal);
  }

  step(id: number, signal?: AbortSignal): Promise<Float32Array> {
    return this.feed([id], signal);
  }

  /**
   * Appends `ids` in one forward pass and returns every position's logits (row i predicts the token after
   * `ids[i]`): the verification pass of speculative decoding. Rows are views (valid until the next call).
   * `offsets`: position ids relative to the cache length (default 0, 1, …): a grid fed out of raster
   * order places each id at its raster position.
   */
  async feedAll(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<Float32Array[]> {
    if (ids.length > PREFILL_CHUNK) throw new InputError('input_invalid', `feedAll() takes at most ${PREFILL_CHUNK} ids per forward, got ${ids.length}`);
    if (offsets && offsets.length !== ids.length) throw new InputError('input_invalid', `feedAll(): ${offsets.length} position offsets for ${ids.length} ids`);
    const t = await this.#forward(ids, ids.length, signal, offsets);
    return this.#rows(t, ids.length);
  }

  /** Returns a view of the last position's logits inside the output tensor (valid until the next call). */
  async feed(ids: readonly number[], signal?: AbortSignal): Promise<Float32Array> {
    this.#check(ids, signal);
    const s = ids.length;
    // A long prompt goes in chunks: attention scores are [heads, S, T] floats per layer, 4.3 GB for
    // one 4k-token forward at Emu3.5's 64 heads; in chunks of 512 they stay near 0.5 GB.
    if (s > PREFILL_CHUNK) {
      for (let from = 0; from + PREFILL_CHUNK < s; from += PREFILL_CHUNK) await this.feed(ids.slice(from, from + PREFILL_CHUNK), signal);
      return this.feed(ids.slice(Math.floor((s - 1) / PREFILL_CHUNK) * PREFILL_CHUNK), signal);
    }
    return this.#rows(await this.#forward(ids, 1, signal), 1)[0]!;
  }

  /** Refuses an aborted call, no ids, or ids past the context, before any work. */
  #check(ids: readonly number[], signal?: AbortSignal): void {
    throwIfAborted(signal);
    const s = ids.length;
    const p = this.#length;
    if (s === 0) throw new InputError('input_invalid', 'DecoderSession.feed() needs at least one id');
    if (p + s > this.#spec.maxPositions) {
      throw new ModelError('model_mismatch', `decoder context full: ${p} + ${s} tokens > maxPositions ${this.#spec.maxPositions}`);
    }
  }

  /** One forward pass over `ids` (≤ one chunk), keeping the last `keep` positions' logits. */
  async #forward(ids: readonly number[], keep: number, signal?: AbortSignal, offsets?: readonly number[]): Promise<ort.Tensor> {
    this.#check(ids, signal);
    await this.#work.settle();
    const s = ids.length;
    const p = this.#length;
    const io = this.#spec.io;
    const inputIds = new BigInt64Array(s);
    this.#growPositions(p + s);
    const positions = this.#slotPositions.subarray(p, p + s);
    for (let i = 0; i < s; i++) {
      inputIds[i] = BigInt(ids[i]!);
      positions[i] = BigInt(p + (offsets ? offsets[i]! : i));
    }
    const feeds: Record<string, ort.Tensor> = {
      ...this.#past,
      [io.inputIds]: new ort.Tensor('int64', inputIds, [1, s]),
      [io.attentionMask]: new ort.Tensor('int64', this.#onesView(p + s), [1, p + s]),
      [io.positionIds]: new ort.Tensor('int64', positions.slice(), [1, s]),
    };
    if (io.keyPositions) feeds[io.keyPositions] = new ort.Tensor('int64', this.#slotPositions.subarray(0, p + s), [1, p + s]);
    if (io.logitsToKeep) feeds[io.logitsToKeep] = keep === 1 ? KEEP_ONE : new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), [1]);
    let out: ort.InferenceSession.ReturnType;
    try {
      if (this.#inPlace) {
        this.#reserve(p + s);
        Object.assign(feeds, this.#past);
        // The same buffers as present outputs: GroupQueryAttention appends in place.
        const fetches: Record<string, ort.Tensor | null> = { [io.logits]: null };
        this.#pastNames.forEach((name, j) => (fetches[this.#presentNames[j]!] = this.#past[name]!));
        out = await this.#session.run(feeds, fetches);
      } else {
        out = await this.#session.run(feeds);
      }
    } catch (err) {
      throw engineFailure(`decoder forward (P=${p}, S=${s})`, err);
    }
    this.#forwardPasses++;
    this.#onForward?.();
    if (!this.#inPlace) this.#setPast(Object.fromEntries(this.#pastNames.map((name, j) => [name, out[this.#presentNames[j]!]!])));
    this.#length = p + s;
    for (const id of ids) this.tokens.push(id);
    return out[io.logits]!;
  }

  /** The last `n` positions' rows (fp16 widened for those rows alone). */
  #rows(t: ort.Tensor, n: number): Float32Array[] {
    return logitRows(t, n, this.#vocabSize);
  }

  /** Room for `n` slot positions, grown by doubling (kept entries copied). */
  #growPositions(n: number): void {
    if (this.#slotPositions.length >= n) return;
    const grown = new BigInt64Array(Math.max(n, this.#slotPositions.length * 2, 256));
    grown.set(this.#slotPositions.subarray(0, this.#length));
    this.#slotPositions = grown;
  }

  /** A reused all-ones mask; grown by doubling so steps do not allocate. */
  #onesView(n: number): BigInt64Array {
    if (this.#ones.length < n) {
      this.#ones = new BigInt64Array(Math.max(n, this.#ones.length * 2, 256)).fill(1n);
    }
    return this.#ones.subarray(0, n);
  }
}
