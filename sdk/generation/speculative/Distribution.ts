import type { Candidates } from '../Candidates.ts';

/** A sampling distribution over a few ids: what the warpers left, softmaxed. */
export interface Distribution {
  ids: Int32Array;
  probs: Float32Array;
}

/** Copies the candidates' softmax (the distribution `CategoricalSampler.sample` draws from). */
export function toDistribution(c: Candidates): Distribution {
  const n = c.count;
  const ids = new Int32Array(n);
  const probs = new Float32Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (c.logits[i]! > max) max = c.logits[i]!;
  let total = 0;
  for (let i = 0; i < n; i++) {
    ids[i] = c.idAt(i);
    const e = Math.exp(c.logits[i]! - max);
    probs[i] = e;
    total += e;
  }
  for (let i = 0; i < n; i++) probs[i]! /= total;
  return { ids, probs };
}

/** p(id); 0 outside the support. */
export function probabilityOf(d: Distribution, id: number): number {
  const ids = d.ids;
  for (let i = 0; i < ids.length; i++) if (ids[i] === id) return d.probs[i]!;
  return 0;
}

/** The most probable id (the first of ties, as a top-1 warper keeps it). */
export function argmax(d: Distribution): number {
  let best = 0;
  for (let i = 1; i < d.probs.length; i++) if (d.probs[i]! > d.probs[best]!) best = i;
  return d.ids[best]!;
}
