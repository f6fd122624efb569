import * as ort from 'onnxruntime-node';
import { InputError, ModelError, throwIfAborted } from '../errors.ts';
import type { GuidedStreams, StreamRows } from '../generation/GuidedStreams.ts';
import { engineFailure } from './createSession.ts';
import type { DecoderGraph, KvHandle } from './DecoderSession.ts';
import { type DeviceKv, DeviceWork, onDevice } from './DeviceKv.ts';
import { logitRows } from './logitRows.ts';

type Buffer = Float32Array | Uint16Array;

/**
 * The conditional and unconditional streams merged into one batch-2 KV cache for an image span, where
 * both take the same tokens: one forward pass per step instead of two, with the same logits.
 *
 * The streams' pasts differ in length (the unconditional prompt is the shorter), so each row has its
 * own attention mask and position ids, and its padding is masked out:
 * - `concat` layout: rows are left-padded to a common length T (present = Concat(past, new) grows both);
 * - `shared` layout (GroupQueryAttention): rows start at slot 0 and are right-padded inside one
 *   [2,kvHeads,capacity,headDim] buffer; `seqlens_k` (from each row's mask) says where each row ends.
 *
 * ORT's GroupQueryAttention refuses batch > 1 for several new tokens over a past ("batch_size must be 1
 * when sequence_length > 1 and past context is given"), so in the `shared` layout a multi-token feed (a
 * Jacobi window) runs one pass per row, each on its row of the same buffer: same cache, two passes.
 *
 * Merging copies each stream's cache once and `close()` copies each back (O(history) per image, against
 * O(image) passes saved). Until `close()`, the two `DecoderSession`s must not be fed directly.
 *
 * On a device cache (`graph.deviceKv`, WebGPU) the batch lives in GPU memory too: the merge, rollbacks
 * and the rows handed back run as device graphs, queued where the call is synchronous, and no step
 * copies the cache to the host.
 */
export class BatchedGuidance implements GuidedStreams {
  readonly #g: DecoderGraph;
  readonly #streams: [KvHandle, KvHandle];
  /** Valid positions per row (cond, uncond). */
  readonly #lengths: [number, number];
  /** concat: the common padded length T; shared: the buffer capacity. */
  #width: number;
  #past: Record<string, ort.Tensor>;
  /** Ids fed since the merge (the same for both rows), handed back to each session's `tokens` on close. */
  readonly #fed: number[] = [];
  /** Each row's slot position ids (slot order), grown as fed. */
  readonly #positions: [number[], number[]];
  #closed = false;
  readonly #device: DeviceKv | undefined;
  /** Device batches: the merge and queued rollbacks; every feed waits for them. */
  readonly #work = new DeviceWork('device guidance batch update');

  constructor(graph: DecoderGraph, cond: KvHandle, uncond: KvHandle) {
    this.#g = graph;
    this.#device = graph.deviceKv;
    this.#streams = [cond, uncond];
    this.#lengths = [cond.length, uncond.length];
    this.#positions = [Array.from(cond.slotPositions, Number), Array.from(uncond.slotPositions, Number)];
    this.#width = Math.max(cond.length, uncond.length);
    this.#past = {};
    if (this.#device) this.#work.defer(() => this.#mergeOnDevice());
    else {
      if (this.#shared) this.#width = Math.max(capacityOf(cond), capacityOf(uncond), 1);
      this.#past = this.#merge();
    }
  }


  get #shared(): boolean {
    return this.#g.spec.kvCache === 'shared';
  }

  /** Where row b's position 0 sits along the positions axis. */
  #offset(b: number): number {
    return this.#shared ? 0 : this.#width - this.#lengths[b]!;
  }

  passesFor(n: number): number {
    return this.#shared && n > 1 ? 2 : 1;
  }

  async feedAll(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<StreamRows> {
    if (offsets && offsets.length !== ids.length) throw new InputError('input_invalid', `feedAll(): ${offsets.length} position offsets for ${ids.length} ids`);
    if (this.#device) await this.#work.settle();
    if (this.passesFor(ids.length) === 2) return this.#forwardEachRow(ids, signal, offsets);
    const t = await this.#forward(ids, signal, offsets);
    return { cond: logitRows(t, ids.length, this.#g.vocabSize, 0), uncond: logitRows(t, ids.length, this.#g.vocabSize, 1) };
  }

  rollback(n: number): void {
    this.#open();
    if (!Number.isInteger(n) || n < 0 || n > this.#fed.length) throw new InputError('input_invalid', `cannot roll back ${n} of the ${this.#fed.length} positions fed to this batch`);
    if (n === 0) return;
    this.#lengths[0] -= n;
    this.#lengths[1] -= n;
    this.#fed.length -= n;
    for (const p of this.#positions) p.length -= n;
    // shared: slots past each row's length are never attended to and the next feed overwrites them.
    if (this.#shared) return;
    // Each row keeps its first `length` valid positions, at the same offset from the start.
    this.#width -= n;
    if (this.#device) {
      // Rows are left-padded, so every valid position stays in [0, width): one Slice on the device.
      const width = this.#width;
      return this.#work.defer(async () => this.#replace(await this.#sliceAll([0, 2], [0, width])));
    }
    this.#past = this.#remap(this.#past, [this.#width + n, this.#width + n], this.#width, (b) => ({ from: this.#offset(b), to: this.#offset(b) }));
  }

  /** Writes each row back into its own session's cache. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#device) return this.#closeOnDevice();
    this.#streams.forEach((stream, b) => {
      const length = this.#lengths[b]!;
      const width = this.#shared ? this.#width : length;
      stream.adopt(this.#slice(b, width), length, this.#fed, BigInt64Array.from(this.#positions[b]!, BigInt));
    });
  }

  #open(): void {
    if (this.#closed) throw new InputError('input_invalid', 'this guidance batch is closed');
  }

  /** One batch-2 forward of the same `ids` in both rows; keeps every fed position's logits. */
  async #forward(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<ort.Tensor> {
    const { spec, session } = this.#g;
    const io = spec.io;
    const s = ids.length;
    const longest = this.#begin(ids, signal);

    const total = this.#shared ? longest : this.#width + s;
    const inputIds = new BigInt64Array(2 * s);
    const positions = new BigInt64Array(2 * s);
    const mask = new BigInt64Array(2 * total);
    const keyPositions = io.keyPositions ? new BigInt64Array(2 * total) : undefined;
    for (let b = 0; b < 2; b++) {
      const length = this.#lengths[b]!;
      const slots = this.#positions[b]!;
      for (let i = 0; i < s; i++) {
        inputIds[b * s + i] = BigInt(ids[i]!);
        positions[b * s + i] = BigInt(length + (offsets ? offsets[i]! : i));
        slots.push(Number(positions[b * s + i]));
      }
      // A row's valid slots: [offset, offset + length + s).
      const from = b * total + this.#offset(b);
      mask.fill(1n, from, from + length + s);
      if (keyPositions) for (let t = 0; t < length + s; t++) keyPositions[from + t] = BigInt(slots[t]!);
    }
    const feeds: Record<string, ort.Tensor> = {
      ...this.#past,
      [io.inputIds]: new ort.Tensor('int64', inputIds, [2, s]),
      [io.attentionMask]: new ort.Tensor('int64', mask, [2, total]),
      [io.positionIds]: new ort.Tensor('int64', positions, [2, s]),
    };
    if (keyPositions) feeds[io.keyPositions!] = new ort.Tensor('int64', keyPositions, [2, total]);
    if (io.logitsToKeep) feeds[io.logitsToKeep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(s)), [1]);
    let out: ort.InferenceSession.ReturnType;
    try {
      if (this.#shared && !this.#device) {
        const fetches: Record<string, ort.Tensor | null> = { [io.logits]: null };
        this.#g.pastNames.forEach((name, j) => (fetches[this.#g.presentNames[j]!] = this.#past[name]!));
        out = await session.run(feeds, fetches);
      } else {
        out = await session.run(feeds);
      }
    } catch (err) {
      this.#positions.forEach((slots, b) => (slots.length = this.#lengths[b]!));
      throw engineFailure(`batched guidance forward (P=${this.#lengths.join('/')}, S=${s})`, err);
    }
    this.#streams[0].countForward();
    if (this.#device) {
      this.#replace(Object.fromEntries(this.#g.pastNames.map((name, j) => [name, out[this.#g.presentNames[j]!]!])));
      this.#width = Number(this.#past[this.#g.pastNames[0]!]!.dims[2]);
    } else if (!this.#shared) {
      this.#past = {};
      this.#g.pastNames.forEach((name, j) => (this.#past[name] = out[this.#g.presentNames[j]!]!));
      this.#width += s;
    }
    this.#lengths[0] += s;
    this.#lengths[1] += s;
    this.#fed.push(...ids);
    return out[io.logits]!;
  }

  /** Refuses a closed batch, an abort, no ids or a full context; makes room; returns the longer row's new length. */
  #begin(ids: readonly number[], signal?: AbortSignal): number {
    this.#open();
    throwIfAborted(signal);
    const s = ids.length;
    if (s === 0) throw new InputError('input_invalid', 'a batched guidance feed needs at least one id');
    const longest = Math.max(...this.#lengths) + s;
    if (longest > this.#g.spec.maxPositions) throw new ModelError('model_mismatch', `decoder context full: ${longest - s} + ${s} tokens > maxPositions ${this.#g.spec.maxPositions}`);
    if (this.#shared && !this.#device) this.#reserve(longest);
    return longest;
  }

  /** The two streams' caches stacked on the device: concat rows left-padded to the longer, shared rows right-padded to the larger capacity. */
  async #mergeOnDevice(): Promise<void> {
    await Promise.all(this.#streams.map((s) => s.ready()));
    const caps = this.#streams.map((s) => Number(s.past[this.#g.pastNames[0]!]!.dims[2])) as [number, number];
    this.#width = this.#shared ? Math.max(...caps) : Math.max(...this.#lengths);
    const pad = caps.map((c, b) => (this.#shared ? [0, this.#width - c] : [this.#width - this.#lengths[b]!, 0])) as [[number, number], [number, number]];
    const merged: Record<string, ort.Tensor> = {};
    for (const name of this.#g.pastNames) merged[name] = await this.#device!.merge(this.#streams[0].past[name]!, this.#streams[1].past[name]!, pad);
    this.#past = merged;
  }

  /** Every past name's [rows) × [positions) slice, on the device. */
  async #sliceAll(rows: [number, number], positions: [number, number]): Promise<Record<string, ort.Tensor>> {
    const out: Record<string, ort.Tensor> = {};
    for (const name of this.#g.pastNames) out[name] = await this.#device!.slice(this.#past[name]!, rows, positions);
    return out;
  }

  /** Takes `next` as the batch cache; the batch alone holds its device tensors, so the old ones are freed. */
  #replace(next: Record<string, ort.Tensor>): void {
    disposeAll(this.#past);
    this.#past = next;
  }

  /** Each row back to its stream as a device slice; the streams' next forwards wait for theirs. */
  #closeOnDevice(): void {
    const fed = [...this.#fed];
    const lengths = [...this.#lengths];
    const width = this.#width;
    const rows = this.#work.settle().then(async () => {
      const out: Record<string, ort.Tensor>[] = [];
      for (let b = 0; b < 2; b++) out.push(await this.#sliceAll([b, b + 1], this.#shared ? [0, width] : [this.#offset(b), width]));
      return out;
    });
    // The batch's own tensors go once both rows are cut (or the cut failed).
    void rows.then(
      () => disposeAll(this.#past),
      () => disposeAll(this.#past),
    );
    this.#streams.forEach((stream, b) => {
      if (fed.length === 0) return; // nothing was fed: each stream's own cache is still current
      stream.adopt(
        rows.then((r) => r[b]!),
        lengths[b]!,
        fed,
        BigInt64Array.from(this.#positions[b]!, BigInt),
      );
    });
  }

  /** shared layout, several ids: one batch-1 pass per row, on views of its part of the buffer. */
  async #forwardEachRow(ids: readonly number[], signal?: AbortSignal, offsets?: readonly number[]): Promise<StreamRows> {
    this.#begin(ids, signal);
    if (this.#device) return this.#forwardEachRowOnDevice(ids, offsets);
    const { spec, session, vocabSize } = this.#g;
    const { numKvHeads: h, headDim: d } = spec;
    const io = spec.io;
    const s = ids.length;
    const rows: Float32Array[][] = [];
    for (let b = 0; b < 2; b++) {
      const length = this.#lengths[b]!;
      const views: Record<string, ort.Tensor> = {};
      for (const name of this.#g.pastNames) {
        const t = this.#past[name]!;
        const size = h * this.#width * d;
        views[name] = tensor(t, (t.data as Buffer).subarray(b * size, (b + 1) * size), [1, h, this.#width, d]);
      }
      const feeds = this.#rowFeeds(views, ids, length, offsets);
      const fetches: Record<string, ort.Tensor | null> = { [io.logits]: null };
      this.#g.pastNames.forEach((name, j) => (fetches[this.#g.presentNames[j]!] = views[name]!));
      let out: ort.InferenceSession.ReturnType;
      try {
        out = await session.run(feeds, fetches);
      } catch (err) {
        throw engineFailure(`guidance row ${b} forward (P=${length}, S=${s})`, err);
      }
      this.#streams[b]!.countForward();
      for (let i = 0; i < s; i++) this.#positions[b]!.push(length + (offsets ? offsets[i]! : i));
      // Copied: the next row's run reuses ORT's output buffers.
      rows.push(logitRows(out[io.logits]!, s, vocabSize).map((r) => r.slice()));
    }
    this.#lengths[0] += s;
    this.#lengths[1] += s;
    this.#fed.push(...ids);
    return { cond: rows[0]!, uncond: rows[1] };
  }

  /** One row's batch-1 feeds over its own cache `views` of `length` valid positions. */
  #rowFeeds(views: Record<string, ort.Tensor>, ids: readonly number[], length: number, offsets?: readonly number[]): Record<string, ort.Tensor> {
    const io = this.#g.spec.io;
    const s = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      ...views,
      [io.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, s]),
      [io.attentionMask]: new ort.Tensor('int64', new BigInt64Array(length + s).fill(1n), [1, length + s]),
      [io.positionIds]: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(length + (offsets ? offsets[i]! : i))), [1, s]),
    };
    if (io.logitsToKeep) feeds[io.logitsToKeep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(s)), [1]);
    return feeds;
  }

  /** The same on a device cache: each row sliced out, run, and the two presents stacked again. */
  async #forwardEachRowOnDevice(ids: readonly number[], offsets?: readonly number[]): Promise<StreamRows> {
    const { spec, session, vocabSize } = this.#g;
    const io = spec.io;
    const s = ids.length;
    const rows: Float32Array[][] = [];
    const presents: Record<string, ort.Tensor>[] = [];
    try {
      for (let b = 0; b < 2; b++) {
        const length = this.#lengths[b]!;
        const views = await this.#sliceAll([b, b + 1], [0, this.#width]);
        const feeds = this.#rowFeeds(views, ids, length, offsets);
        let out: ort.InferenceSession.ReturnType;
        try {
          out = await session.run(feeds);
        } catch (err) {
          throw engineFailure(`guidance row ${b} forward (P=${length}, S=${s})`, err);
        } finally {
          disposeAll(views);
        }
        presents.push(Object.fromEntries(this.#g.pastNames.map((name, j) => [name, out[this.#g.presentNames[j]!]!])));
        this.#streams[b]!.countForward();
        rows.push(logitRows(out[io.logits]!, s, vocabSize).map((r) => r.slice()));
      }
      const widths = presents.map((p) => Number(p[this.#g.pastNames[0]!]!.dims[2]));
      const width = Math.max(...widths);
      const merged: Record<string, ort.Tensor> = {};
      for (const name of this.#g.pastNames) merged[name] = await this.#device!.merge(presents[0]![name]!, presents[1]![name]!, [[0, width - widths[0]!], [0, width - widths[1]!]]);
      this.#replace(merged);
      this.#width = width;
    } finally {
      presents.forEach(disposeAll);
    }
    for (let b = 0; b < 2; b++) for (let i = 0; i < s; i++) this.#positions[b]!.push(this.#lengths[b]! + (offsets ? offsets[i]! : i));
    this.#lengths[0] += s;
    this.#lengths[1] += s;
    this.#fed.push(...ids);
    return { cond: rows[0]!, uncond: rows[1] };
  }

  /** Both streams' caches in one [2,kvHeads,width,headDim] tensor per past name. */
  #merge(): Record<string, ort.Tensor> {
    const past: Record<string, ort.Tensor> = {};
    const { numKvHeads: h, headDim: d } = this.#g.spec;
    for (const name of this.#g.pastNames) {
      const srcs = this.#streams.map((s) => s.past[name]!);
      const dst = alloc(srcs[0]!, 2 * h * this.#width * d);
      srcs.forEach((t, b) => {
        const src = t.data as Buffer;
        const cap = Number(t.dims[2]);
        const length = this.#lengths[b]!;
        for (let k = 0; k < h; k++) dst.set(src.subarray(k * cap * d, k * cap * d + length * d), ((b * h + k) * this.#width + this.#offset(b)) * d);
      });
      past[name] = tensor(srcs[0]!, dst, [2, h, this.#width, d]);
    }
    return past;
  }

  /** Row b as its own [1,kvHeads,width,headDim] cache (valid positions first). */
  #slice(b: number, width: number): Record<string, ort.Tensor> {
    const { numKvHeads: h, headDim: d } = this.#g.spec;
    const length = this.#lengths[b]!;
    const from = this.#offset(b);
    const out: Record<string, ort.Tensor> = {};
    for (const name of this.#g.pastNames) {
      const t = this.#past[name]!;
      const src = t.data as Buffer;
      const dst = alloc(t, h * width * d);
      for (let k = 0; k < h; k++) {
        const at = ((b * h + k) * this.#width + from) * d;
        dst.set(src.subarray(at, at + length * d), k * width * d);
      }
      out[name] = tensor(t, dst, [1, h, width, d]);
    }
    return out;
  }

  /** Copies each row's valid positions into a new [2,kvHeads,width,headDim] layout. */
  #remap(past: Record<string, ort.Tensor>, oldWidths: [number, number], width: number, place: (b: number) => { from: number; to: number }): Record<string, ort.Tensor> {
    const { numKvHeads: h, headDim: d } = this.#g.spec;
    const out: Record<string, ort.Tensor> = {};
    for (const name of this.#g.pastNames) {
      const t = past[name]!;
      const src = t.data as Buffer;
      const dst = alloc(t, 2 * h * width * d);
      for (let b = 0; b < 2; b++) {
        const { from, to } = place(b);
        const length = this.#lengths[b]!;
        for (let k = 0; k < h; k++) {
          const at = ((b * h + k) * oldWidths[b]! + from) * d;
          dst.set(src.subarray(at, at + length * d), ((b * h + k) * width + to) * d);
        }
      }
      out[name] = tensor(t, dst, [2, h, width, d]);
    }
    return out;
  }

  /** shared: grows the buffer by doubling (capped at maxPositions) so appends never copy the history. */
  #reserve(needed: number): void {
    if (needed <= this.#width) return;
    const old = this.#width;
    const grown = Math.min(this.#g.spec.maxPositions, Math.max(needed, old * 2, 256));
    this.#past = this.#remap(this.#past, [old, old], grown, () => ({ from: 0, to: 0 }));
    this.#width = grown;
  }
}

function disposeAll(past: Record<string, ort.Tensor>): void {
  for (const t of Object.values(past)) if (onDevice(t)) t.dispose();
}

function capacityOf(kv: KvHandle): number {
  return Number(Object.values(kv.past)[0]!.dims[2]);
}

function alloc(like: ort.Tensor, size: number): Buffer {
  return like.type === 'float16' ? new Uint16Array(size) : new Float32Array(size);
}

function tensor(like: ort.Tensor, data: Buffer, dims: number[]): ort.Tensor {
  return like.type === 'float16' ? new ort.Tensor('float16', data as Uint16Array, dims) : new ort.Tensor('float32', data as Float32Array, dims);
}
