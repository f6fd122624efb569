import { ModelError } from '../errors.ts';

/**
 * tiktoken's `byte_pair_merge`: start from single bytes and repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank (leftmost on ties) until no pair is a known token.
 * `piece` is a latin1 byte string; returns the ranks of the final parts.
 */
export function bytePairEncode(piece: string, ranks: Map<string, number>): number[] {
  const whole = ranks.get(piece);
  if (whole !== undefined) return [whole];
  if (piece.length > LONG_PIECE) return bytePairEncodeLong(piece, ranks);
  // bounds[i] is the start of part i; the last entry is piece.length.
  const bounds: number[] = [];
  for (let i = 0; i <= piece.length; i++) bounds.push(i);
  // pairRank[i] = rank of parts i and i+1 merged (Infinity when unknown).
  const pairRank: number[] = [];
  for (let i = 0; i + 2 < bounds.length; i++) pairRank.push(rankOf(piece, bounds[i]!, bounds[i + 2]!, ranks));
  while (pairRank.length > 0) {
    let best = 0;
    for (let i = 1; i < pairRank.length; i++) if (pairRank[i]! < pairRank[best]!) best = i;
    if (pairRank[best] === Infinity) break;
    bounds.splice(best + 1, 1);
    pairRank.splice(best, 1);
    if (best > 0) pairRank[best - 1] = rankOf(piece, bounds[best - 1]!, bounds[best + 1]!, ranks);
    if (best < pairRank.length) pairRank[best] = rankOf(piece, bounds[best]!, bounds[best + 2]!, ranks);
  }
  const out: number[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const r = ranks.get(piece.slice(bounds[i]!, bounds[i + 1]!));
    if (r === undefined) throw new ModelError('model_mismatch', `Tokenizer ranks lack byte 0x${piece.charCodeAt(bounds[i]!).toString(16)}; a byte-level BPE needs all 256 single bytes`);
    out.push(r);
  }
  return out;
}

/** Above this many bytes the quadratic scan gives way to a heap (same merges, O(n log n)). */
const LONG_PIECE = 128;

/**
 * Same merge order as the scan (lowest rank, then leftmost), with parts in a linked list and candidate
 * pairs in a min-heap keyed (rank, start); stale entries are skipped when the pair's end has moved.
 */
export function bytePairEncodeLong(piece: string, ranks: Map<string, number>): number[] {
  const n = piece.length;
  const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  const alive = new Uint8Array(n).fill(1);
  const heap = new PairHeap();
  const endOf = (s: number) => (next[s]! === -1 ? -1 : next[next[s]!]! === -1 ? n : next[next[s]!]!);
  const push = (s: number) => {
    const end = endOf(s);
    if (end === -1) return;
    const r = ranks.get(piece.slice(s, end));
    if (r !== undefined) heap.push(r, s, end);
  };
  for (let s = 0; s < n; s++) push(s);
  for (let top = heap.pop(); top; top = heap.pop()) {
    const [, s, end] = top;
    if (!alive[s] || endOf(s) !== end) continue;
    const t = next[s]!;
    next[s] = next[t]!;
    if (next[t]! !== -1) prev[next[t]!] = s;
    alive[t] = 0;
    if (prev[s]! >= 0) push(prev[s]!);
    push(s);
  }
  const out: number[] = [];
  for (let s = 0; s !== -1; s = next[s]!) {
    const r = ranks.get(piece.slice(s, next[s]! === -1 ? n : next[s]!));
    if (r === undefined) throw new ModelError('model_mismatch', `Tokenizer ranks lack byte 0x${piece.charCodeAt(s).toString(16)}; a byte-level BPE needs all 256 single bytes`);
    out.push(r);
  }
  return out;
}

class PairHeap {
  readonly #items: Array<[number, number, number]> = [];
  push(rank: number, start: number, end: number): void {
    const a = this.#items;
    a.push([rank, start, end]);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): [number, number, number] | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less(x: [number, number, number], y: [number, number, number]): boolean {
  return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
}

function rankOf(piece: string, start: number, end: number, ranks: Map<string, number>): number {
  return ranks.get(piece.slice(start, end)) ?? Infinity;
}
