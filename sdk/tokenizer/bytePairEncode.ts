import { ModelError } from '../errors.ts';

/**
 * tiktoken's `byte_pair_merge`: start from single bytes and repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank (leftmost on ties) until no pair is a known token.
 * `piece` is a latin1 byte string; returns the ranks of the final parts.
 */
export function bytePairEncode(piece: string, ranks: Map<string, number>): number[] {
  const whole = ranks.get(piece);
  if (whole !== undefined) return [whole];
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

function rankOf(piece: string, start: number, end: number, ranks: Map<string, number>): number {
  return ranks.get(piece.slice(start, end)) ?? Infinity;
}
