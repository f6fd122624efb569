import { InputError } from '../../errors.ts';
import type { CausalLm } from '../CausalLm.ts';
import type { Grid } from '../GenerationEvent.ts';
import type { GridHost } from '../GridHost.ts';
import type { Distribution } from './Distribution.ts';
import type { SpeculativeSampler } from './SpeculativeSampler.ts';

export const DEFAULT_DRAFT_WINDOW = 16;
/** Stale rows always refined after a rejection, however few drafts were kept. */
const REFINE_MIN = 2;
/**
 * Refining costs a full target distribution per row (CFG, top-k over the vocabulary: the host work of one
 * sequential token) and pays only when the stale draft is then kept. Below this rate of kept stale drafts
 * (seen so far in the generation) refinement is switched off, except on every PROBE-th pass, which keeps
 * measuring the rate: so a model whose stale predictions do not survive (sampling from a flat top-k) costs
 * about the host work of sequential decoding, while one whose do (emu-nano) keeps the full Jacobi gain.
 */
const STALE_WORTH = 0.25;
const PROBE = 8;

/** A draft token and the distribution it was drawn from (null: a deterministic guess, a point mass). */
interface Draft {
  token: number;
  q: Distribution | null;
}

/**
 * Speculative Jacobi decoding of one image grid: every forward pass feeds the last accepted token plus a
 * window of drafts, verifies them left to right with the speculative acceptance rule, keeps the accepted
 * prefix and one more token (the residual redraw, or a bonus draw when all were kept), and rolls the KV
 * caches back over the rejected rest: so each pass yields ≥ 1 token and the output is distributed as
 * sequential decoding.
 *
 * Drafts: a position the last pass predicted under a wrong prefix keeps that (stale) prediction, drawn
 * from it, with it as `q`: the Jacobi iteration, which converges as the prefix firms up. A position never
 * predicted is guessed from the image itself: the token above it (the raster grid's strongest
 * correlation), else its left neighbour; the first token of an image is never guessed.
 * EOL and EOI positions carry their forced ids. The header is never speculated (this runs after IMG).
 */
export class JacobiGrid {
  readonly #window: number;
  readonly #sampler: SpeculativeSampler;
  /** Stale Jacobi drafts by grid position, for the current image. */
  #stale = new Map<number, Draft>();
  /** Stale drafts verified and kept, and passes run, over the generation (the refinement gate). */
  #staleOffered = 0;
  #staleKept = 0;
  #passes = 0;

  constructor(window: number, sampler: SpeculativeSampler) {
    this.#window = window;
    this.#sampler = sampler;
  }

  /** Refuses, before any work, a decoder that cannot return every position's logits and roll back. */
  static check(lms: readonly CausalLm[]): void {
    if (lms.some((lm) => !lm.feedAll || !lm.truncate)) {
      throw new InputError('input_invalid', "sampling.image.parallel 'jacobi' needs a decoder that returns every position's logits and can roll its cache back (feedAll/truncate)");
    }
  }

  /**
   * One verification pass. `gridTokens[i]` = the accepted token at grid position i+1 (the current image
   * so far); `last` = the newest accepted token (not yet fed); `budget` = tokens still allowed (≥ 1).
   * Returns how many ids the pass fed.
   */
  async step(host: GridHost, grid: Grid, gridTokens: readonly number[], last: number, budget: number, prefix: number[], signal: AbortSignal): Promise<number> {
    const pos0 = gridTokens.length;
    if (pos0 === 0) this.#stale.clear();
    const end = grid.rows * (grid.cols + 1);
    const drafts = this.#drafts(host, grid, gridTokens, Math.min(this.#window, end - pos0 - 1, budget - 1));

    const fed = [last, ...drafts.map((d) => d.token)];
    const streams = host.streams();
    const { cond: condRows, uncond: uncondRows } = await streams.feedAll(fed, signal);

    // Verify left to right; row i predicts grid position pos0 + 1 + i.
    let kept = 0;
    let rejected = false;
    for (let i = 0; i <= drafts.length; i++) {
      const position = pos0 + 1 + i;
      const forced = host.forced(position, grid);
      if (forced !== null) {
        await host.accept(forced);
        if (i === drafts.length) break;
        kept++;
        continue;
      }
      const p = host.distribution(condRows[i]!, uncondRows?.[i], prefix);
      if (i === drafts.length) {
        await host.accept(this.#sampler.sample(p));
        break;
      }
      const verdict = this.#sampler.verify(p, drafts[i]!.token, drafts[i]!.q);
      if (drafts[i]!.q) {
        this.#staleOffered++;
        if (verdict.accepted) this.#staleKept++;
      }
      await host.accept(verdict.token);
      if (!verdict.accepted) {
        rejected = true;
        break;
      }
      kept++;
    }
    // The cache keeps `last` and the accepted drafts; the redrawn/bonus token is fed next pass.
    streams.rollback(fed.length - 1 - kept);

    // Rows after the rejection saw a wrong prefix: their predictions become the next drafts.
    this.#stale.clear();
    if (!rejected) return fed.length;
    if (!this.#refineWorth()) return fed.length;
    const stalePrefix = [...prefix.slice(0, -1), ...drafts.slice(kept).map((d) => d.token)];
    // Each refined row costs a full distribution (CFG, top-k over the vocabulary): refine no more rows than
    // were verified, so host work stays within twice that of the accepted tokens.
    const refineTo = Math.min(drafts.length, kept + Math.max(REFINE_MIN, kept + 1));
    for (let j = kept + 1; j <= refineTo; j++) {
      const position = pos0 + 1 + j;
      if (host.forced(position, grid) !== null) continue;
      const q = host.distribution(condRows[j]!, uncondRows?.[j], stalePrefix.slice(0, prefix.length - 1 + j - kept));
      this.#stale.set(position, { token: this.#sampler.sample(q), q });
    }
    return fed.length;
  }

  /** Whether this pass refines stale rows: while they are kept often enough, and on probe passes. */
  #refineWorth(): boolean {
    this.#passes++;
    const rate = (this.#staleKept + 1) / (this.#staleOffered + 2);
    return rate >= STALE_WORTH || this.#passes % PROBE === 0;
  }

  /** Drafts for the `n` positions after the accepted ones (fewer where nothing is known to guess from). */
  #drafts(host: GridHost, grid: Grid, gridTokens: readonly number[], n: number): Draft[] {
    const pos0 = gridTokens.length;
    const stride = grid.cols + 1;
    const out: Draft[] = [];
    const tokenAt = (p: number): number | undefined => (p <= pos0 ? gridTokens[p - 1] : out[p - pos0 - 1]?.token);
    for (let k = 1; k <= n; k++) {
      const p = pos0 + k;
      const forced = host.forced(p, grid);
      if (forced !== null) {
        out.push({ token: forced, q: null });
        continue;
      }
      const stale = this.#stale.get(p);
      if (stale) {
        out.push(stale);
        continue;
      }
      const guess = p > stride ? tokenAt(p - stride) : p % stride !== 1 ? tokenAt(p - 1) : undefined;
      if (guess === undefined) break;
      out.push({ token: guess, q: null });
    }
    return out;
  }
}
