import { InputError } from '../../errors.ts';
import type { CausalLm } from '../CausalLm.ts';
import type { Grid } from '../GenerationEvent.ts';
import type { GridHost } from '../GridHost.ts';

export const DEFAULT_DRAFT_WINDOW = 16;
/** Stale rows always refined after a rejection, however few drafts were kept. */
const REFINE_MIN = 1;
/**
 * Refining costs a full draw per row (CFG, top-k over the vocabulary: the host work of one sequential
 * token) and pays only when the stale draft is then kept. Below this rate of kept stale drafts (seen so
 * far in the generation) refinement is switched off, except on every PROBE-th pass, which keeps measuring
 * the rate: so a model whose stale predictions do not survive costs about the host work of sequential
 * decoding, while one whose do (emu-nano) keeps the full Jacobi gain.
 */
const STALE_WORTH = 0.25;
const PROBE = 8;
/**
 * Host work allowed per accepted token (ms, over the generation), refinement included. Verifying costs one
 * draw per token, as sequential decoding does; refined rows are what a scheme adds, and they stop once the
 * draws so far would exceed this. emu-nano's draw takes microseconds, so it never binds there; Emu3.5's
 * (CFG and top-k 5120 over 131,072 codes) takes ~0.7 ms, so it keeps refinement to about half a row per
 * token. Only the number of passes depends on it: the tokens are sequential decoding's whatever the drafts.
 */
export const HOST_MS_PER_TOKEN = 1;

/** A draft token, and whether it is a stale prediction (a row's draw under a wrong prefix) or a guess. */
interface Draft {
  token: number;
  stale: boolean;
}

/**
 * Speculative Jacobi decoding of one image grid: every forward pass feeds the last accepted token plus a
 * window of drafts and verifies them left to right. Row i's code is drawn exactly as sequential decoding
 * draws it at that position (`GridHost.draw`: the position's fixed noise, so a function of the prefix);
 * while the draws equal the drafts they were fed with, the prefix was right and they are kept. The first
 * draw that differs is kept too (it was made from the true prefix), and the KV caches roll back over the
 * rest: so each pass yields ≥ 1 token, and the tokens are sequential decoding's own, greedy or sampled.
 *
 * Drafts: a position the last pass drew under a wrong prefix keeps that (stale) draw, made with the same
 * noise: the Jacobi iteration, which converges as the prefix firms up. A position never drawn is guessed
 * from the image itself: the token above it (the raster grid's strongest correlation), else its left
 * neighbour; the first token of an image is never guessed. EOL and EOI positions carry their forced ids.
 * The header is never speculated (this runs after IMG).
 */
export class JacobiGrid {
  readonly #window: number;
  /** Stale Jacobi drafts by grid position, for the current image. */
  #stale = new Map<number, number>();
  /** Stale drafts verified and kept, and passes run, over the generation (the refinement gate). */
  #staleOffered = 0;
  #staleKept = 0;
  #passes = 0;
  /** Tokens accepted and host ms spent drawing, over the generation (the host-work cap). */
  #accepted = 0;
  #drawMs = 0;
  #lastDrawMs = 0;

  constructor(window: number) {
    this.#window = window;
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
      const token = host.forced(position, grid) ?? this.#draw(host, condRows[i]!, uncondRows?.[i], prefix, position);
      const draft = drafts[i];
      if (draft?.stale) {
        this.#staleOffered++;
        if (token === draft.token) this.#staleKept++;
      }
      await host.accept(token);
      this.#accepted++;
      if (!draft) break;
      if (token !== draft.token) {
        rejected = true;
        break;
      }
      kept++;
    }
    // The cache keeps `last` and the accepted drafts; the last accepted token is fed next pass.
    streams.rollback(fed.length - 1 - kept);

    // Rows after the rejection saw a wrong prefix: their draws become the next drafts.
    this.#stale.clear();
    if (!rejected || !this.#refineWorth()) return fed.length;
    const stalePrefix = [...prefix.slice(0, -1), ...drafts.slice(kept).map((d) => d.token)];
    // Each refined row costs a full draw (CFG, top-k over the vocabulary): refine no more rows than were
    // verified, so host work stays within twice that of the accepted tokens.
    const refineTo = Math.min(drafts.length, kept + Math.max(REFINE_MIN, kept + 1));
    for (let j = kept + 1; j <= refineTo; j++) {
      const position = pos0 + 1 + j;
      if (host.forced(position, grid) !== null) continue;
      if (this.#drawMs + this.#lastDrawMs > HOST_MS_PER_TOKEN * this.#accepted) break;
      this.#stale.set(position, this.#draw(host, condRows[j]!, uncondRows?.[j], stalePrefix.slice(0, prefix.length - 1 + j - kept), position));
    }
    return fed.length;
  }

  #draw(host: GridHost, cond: Float32Array, uncond: Float32Array | undefined, prefix: readonly number[], position: number): number {
    const t = performance.now();
    const token = host.draw(cond, uncond, prefix, position);
    this.#lastDrawMs = performance.now() - t;
    this.#drawMs += this.#lastDrawMs;
    return token;
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
        out.push({ token: forced, stale: false });
        continue;
      }
      const stale = this.#stale.get(p);
      if (stale !== undefined) {
        out.push({ token: stale, stale: true });
        continue;
      }
      const guess = p > stride ? tokenAt(p - stride) : p % stride !== 1 ? tokenAt(p - 1) : undefined;
      if (guess === undefined) break;
      out.push({ token: guess, stale: false });
    }
    return out;
  }
}
