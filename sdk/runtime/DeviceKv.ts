import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/GraphBuilder.ts';
import { engineFailure } from './createSession.ts';

type KvType = 'float32' | 'float16';

/** Whether a tensor's data lives on the GPU (a WebGPU `gpu-buffer` output). */
export function onDevice(t: ort.Tensor): boolean {
  return t.location === 'gpu-buffer';
}

/**
 * The cache operations a device-resident KV cache needs, run as tiny ONNX graphs on the same provider
 * as the decoder, so a cache never has to visit host memory:
 * - `slice`: rows [b0, b1) and positions [t0, t1) of a [B, kvHeads, T, headDim] tensor (a truncation,
 *   one stream's row of a guidance batch, or a copy);
 * - `merge`: two caches zero-padded along the positions axis and stacked as a batch of 2;
 * - `toHost`: the same slice with its output in host memory.
 *
 * Why graphs and not `Tensor.getData()`: onnxruntime-node 1.30's gpu-buffer download aborts the process
 * (`terminate called after throwing 'char const*'`) under Dawn, while an ORT run that writes its output
 * to host memory works. Tensors from one WebGPU session feed another: the provider shares one device.
 */
export class DeviceKv {
  readonly #device: { slice: ort.InferenceSession; merge: ort.InferenceSession };
  readonly #host: ort.InferenceSession;
  /** Runs of these graphs so far (tests and benches count them). */
  runs = 0;

  private constructor(slice: ort.InferenceSession, merge: ort.InferenceSession, host: ort.InferenceSession) {
    this.#device = { slice, merge };
    this.#host = host;
  }

  /** Opens the three graphs for `type` on the WebGPU provider. */
  static async open(type: KvType): Promise<DeviceKv> {
    const webgpu = (preferredOutputLocation: 'gpu-buffer' | 'cpu'): ort.InferenceSession.SessionOptions => ({
      executionProviders: ['webgpu'],
      preferredOutputLocation,
      logSeverityLevel: 3,
    });
    const slice = sliceGraph(type);
    return new DeviceKv(
      await ort.InferenceSession.create(slice, webgpu('gpu-buffer')),
      await ort.InferenceSession.create(mergeGraph(type), webgpu('gpu-buffer')),
      await ort.InferenceSession.create(slice, webgpu('cpu')),
    );
  }

  /** Rows [rows[0], rows[1]) and positions [positions[0], positions[1]) of `x`, on the device. */
  slice(x: ort.Tensor, rows: [number, number], positions: [number, number]): Promise<ort.Tensor> {
    return this.#slice(this.#device.slice, x, rows, positions);
  }

  /** The same slice, in host memory. */
  toHost(x: ort.Tensor, rows: [number, number], positions: [number, number]): Promise<ort.Tensor> {
    return this.#slice(this.#host, x, rows, positions);
  }

  /**
   * `a` and `b` ([1, kvHeads, T, headDim] each) padded with zeros along positions, `pad[i] = [before,
   * after]`, and stacked into [2, kvHeads, T', headDim] (both padded lengths must agree).
   */
  async merge(a: ort.Tensor, b: ort.Tensor, pad: [[number, number], [number, number]]): Promise<ort.Tensor> {
    const pads = (p: [number, number]) => new ort.Tensor('int64', BigInt64Array.of(0n, 0n, BigInt(p[0]), 0n, 0n, 0n, BigInt(p[1]), 0n), [8]);
    return this.#run(this.#device.merge, { a, b, pad_a: pads(pad[0]), pad_b: pads(pad[1]) }, 'merge');
  }

  async #slice(session: ort.InferenceSession, x: ort.Tensor, rows: [number, number], positions: [number, number]): Promise<ort.Tensor> {
    const starts = new ort.Tensor('int64', BigInt64Array.of(BigInt(rows[0]), BigInt(positions[0])), [2]);
    const ends = new ort.Tensor('int64', BigInt64Array.of(BigInt(rows[1]), BigInt(positions[1])), [2]);
    return this.#run(session, { x, starts, ends }, 'slice');
  }

  async #run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, what: string): Promise<ort.Tensor> {
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (err) {
      throw engineFailure(`device KV ${what}`, err);
    }
    this.runs++;
    return out.y!;
  }

  async release(): Promise<void> {
    await Promise.all([this.#device.slice.release(), this.#device.merge.release(), this.#host.release()]);
  }
}

const KV_DIMS = ['batch', 'heads', 'positions', 'head_dim'];

function sliceGraph(type: KvType): Uint8Array {
  const g = new GraphBuilder('kv_slice');
  g.input('x', type, KV_DIMS);
  g.input('starts', 'int64', [2]);
  g.input('ends', 'int64', [2]);
  const axes = g.int64('axes', [2], [0, 2]);
  g.output('y', g.op('Slice', ['x', 'starts', 'ends', axes]), type, ['rows', 'heads', 'kept', 'head_dim']);
  return g.encode();
}

function mergeGraph(type: KvType): Uint8Array {
  const g = new GraphBuilder('kv_merge');
  g.input('a', type, ['one_a', 'heads', 'positions_a', 'head_dim']);
  g.input('b', type, ['one_b', 'heads', 'positions_b', 'head_dim']);
  g.input('pad_a', 'int64', [8]);
  g.input('pad_b', 'int64', [8]);
  const a = g.op('Pad', ['a', 'pad_a'], { mode: { string: 'constant' } });
  const b = g.op('Pad', ['b', 'pad_b'], { mode: { string: 'constant' } });
  g.output('y', g.op('Concat', [a, b], { axis: { int: 0 } }), type, [2, 'heads', 'positions', 'head_dim']);
  return g.encode();
}

/**
 * Who still holds a set of device tensors: a fork shares its parent's cache (device caches are never
 * written in place), and the last holder to let go frees the GPU buffers.
 */
export class KvHolders {
  #count = 1;

  share(): this {
    this.#count++;
    return this;
  }

  /** Lets go of `past`; disposes its device tensors when no one else holds them. */
  release(past: Record<string, ort.Tensor>): void {
    if (--this.#count > 0) return;
    for (const t of Object.values(past)) if (onDevice(t)) t.dispose();
  }
}

/**
 * Device cache work queued by synchronous calls (`truncate`, `clone`, a batch's `close`), in order.
 * A failed job leaves the cache unknown: `settle()` throws until `clear()`.
 */
export class DeviceWork {
  #tail: Promise<void> = Promise.resolve();
  #failure: unknown;

  constructor(readonly what: string) {}

  /** Runs `job` after everything queued before it. */
  defer(job: () => void | Promise<void>): void {
    this.#tail = this.#tail.then(job).catch((err: unknown) => {
      this.#failure ??= err;
    });
  }

  /** Resolves once everything queued so far has run. */
  get idle(): Promise<void> {
    return this.#tail;
  }

  get failure(): unknown {
    return this.#failure;
  }

  set failure(err: unknown) {
    this.#failure = err;
  }

  /** Waits for the queue; throws a typed EngineError if a job failed. */
  async settle(): Promise<void> {
    await this.#tail;
    if (this.#failure !== undefined) throw engineFailure(this.what, this.#failure);
  }
}
