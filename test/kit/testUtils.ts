import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelManifest } from '../../sdk/model/ModelManifest.ts';

/** A fresh temp folder, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'emu-tiny-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function openSession(dir: string, file: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path.join(dir, file), { intraOpNumThreads: 1 });
}

export interface KvCache {
  past: number;
  tensors: Record<string, ort.Tensor>;
}

const io = (pattern: string, i: number) => pattern.replace('{i}', String(i));

export function emptyCache(manifest: ModelManifest, batch = 1): KvCache {
  const { numLayers, numKvHeads, headDim, io: names } = manifest.decoder;
  const tensors: Record<string, ort.Tensor> = {};
  for (let i = 0; i < numLayers; i++) {
    for (const p of [names.pastKey, names.pastValue]) {
      tensors[io(p, i)] = new ort.Tensor('float32', new Float32Array(0), [batch, numKvHeads, 0, headDim]);
    }
  }
  return { past: 0, tensors };
}

/** One decoder call on `ids` after `cache`; returns logits [S·V] and the next cache. */
export async function decode(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  ids: readonly number[],
  cache: KvCache,
  positions?: readonly number[],
): Promise<{ logits: Float32Array; dims: readonly number[]; cache: KvCache }> {
  const names = manifest.decoder.io;
  const S = ids.length;
  const total = cache.past + S;
  const out = await session.run({
    ...cache.tensors,
    [names.inputIds]: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, S]),
    [names.attentionMask]: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    [names.positionIds]: new ort.Tensor('int64', BigInt64Array.from(positions ?? ids.map((_, j) => cache.past + j), BigInt), [1, S]),
  });
  const tensors: Record<string, ort.Tensor> = {};
  for (let i = 0; i < manifest.decoder.numLayers; i++) {
    tensors[io(names.pastKey, i)] = out[io(names.presentKey, i)]!;
    tensors[io(names.pastValue, i)] = out[io(names.presentValue, i)]!;
  }
  const logits = out[names.logits]!;
  return { logits: logits.data as Float32Array, dims: logits.dims, cache: { past: total, tensors } };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

export function std(a: Float32Array): number {
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
}
