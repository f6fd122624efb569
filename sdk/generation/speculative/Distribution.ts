import type { Candidates } from '../Candidates.ts';

/** A sampling distribution over a few ids: what the warpers left, softmaxed. */
export interface Distribution {
  ids: Int32Array;
  probs: Float32Array;
}

/** Copies the candidates' softmax (the distribution `CategoricalSampler.sample` draws from). */
export function toDistribution(c: Candidates): Distribution {
  const n = c.count;
  const logits = c.logits;
  // Straight typed-array loops: this runs once per verified row, over top-k's 5120 ids at Emu3.5's preset.
  const ids = c.denseStart >= 0 ? denseIds(c.denseStart, n) : c.ids.slice(0, n);
  const probs = new Float32Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(logits[i]! - max);
    probs[i] = e;
    total += e;
  }
  const inv = 1 / total;
  for (let i = 0; i < n; i++) probs[i] = probs[i]! * inv;
  return { ids, probs };
}

function denseIds(start: number, n: number): Int32Array {
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = start + i;
  return ids;
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
