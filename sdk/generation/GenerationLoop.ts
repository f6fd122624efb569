import { AbortError, InputError } from '../errors.ts';
import type { ParallelScheme, SamplingPreset, TaskName } from '../model/ModelManifest.ts';
import type { RgbImage } from '../image/RgbImage.ts';
import { buildWarpers } from './buildWarpers.ts';
import { Candidates } from './Candidates.ts';
import type { CausalLm } from './CausalLm.ts';
import { CategoricalSampler } from './CategoricalSampler.ts';
import { GridNoise } from './GridNoise.ts';
import type { FinishReason, GenerationEvent, Grid, OutputItem, StopReason, Truncation, Usage } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';
import { separateStreams, type GuidedStreams } from './GuidedStreams.ts';
import { ImageGrammar } from './ImageGrammar.ts';
import type { LogitsContext, LogitsProcessor } from './LogitsProcessor.ts';
import type { LogitsWarper } from './LogitsWarper.ts';
import { CfgCombine } from './processors/CfgCombine.ts';
import { GridConstraint } from './processors/GridConstraint.ts';
import { HeaderConstraint } from './processors/HeaderConstraint.ts';
import { TextModeMask } from './processors/TextModeMask.ts';
import { TopKWarper } from './warpers/TopKWarper.ts';
import { buildStoppingCriteria, type StoppingCriteria } from './stopping/StoppingCriteria.ts';
import { TextStreamer, type TextStreamerIds } from './TextStreamer.ts';
import type { GridHost } from './GridHost.ts';
import { DEFAULT_DRAFT_WINDOW, JacobiGrid } from './speculative/JacobiGrid.ts';
import { DEFAULT_ROW_WINDOW, ZiparGrid } from './zipar/ZiparGrid.ts';

export interface LoopIds extends GrammarIds, TextStreamerIds {
  eos: number;
}

export interface GenerationLoopParams {
  task: TaskName;
  cond: CausalLm;
  /** The unconditional stream; required when `sampling.cfg !== 1`. */
  uncond?: CausalLm;
  condPrompt: readonly number[];
  uncondPrompt: readonly number[];
  ids: LoopIds;
  sampling: SamplingPreset;
  seed: number;
  /** Grid every generated image is forced to (explicit / preset / inherited); undefined = auto, then same-size. */
  fixedGrid?: Grid;
  /** Stop after the first EOI (single-image tasks). */
  stopAtEoi: boolean;
  decodeText(ids: number[]): string;
  /** Parses the decoded generated text (multimodal_decode). */
  parseOutput(text: string): OutputItem[];
  /** VQ-decodes a finished image; omitted = no pixels in the output. */
  decodeImage?(grid: Grid, codes: number[], signal: AbortSignal): Promise<RgbImage>;
  /** Run both guidance streams as one batch-2 pass during images where the decoder can (`CausalLm.pairWith`). Default true. */
  batchGuidance?: boolean;
  /** Exact log-softmax CFG values instead of the shift-free hot path (same samples). */
  exactCfg?: boolean;
  /**
   * Extra processors (a repetition penalty, your own), run at every sampled step of every mode after the
   * built-in mask/CFG processor and before the warpers; `ctx.mode` tells them which step it is.
   */
  processors?: readonly LogitsProcessor[];
}

/**
 * One generation, per token: stopping criteria → forward → processors → warpers → sampler → events.
 *
 * - Processors: one list per sampled mode, the built-in one first (text: `TextModeMask`; header:
 *   `HeaderConstraint`; grid: `GridConstraint` = CFG + visual mask), then `params.processors`.
 *   Forced steps (header replay, EOL, EOI, IMG) run none.
 * - Stopping: `buildStoppingCriteria` (abort, EOS, EOI when `stopAtEoi`, max tokens), evaluated before
 *   every forward pass, the prefill included, so no model work follows a stop or an abort. An abort
 *   rejects with `AbortError`; the other reasons end with `done` and `usage.stopReason`. A budget stop
 *   (`max_tokens`) also sets `done.truncated`, naming the image it cut off, if any: the parser drops an
 *   unterminated image, so without it a half-drawn image would vanish from a result that looks whole.
 */
export class GenerationLoop {
  readonly #p: GenerationLoopParams;
  readonly #grammar: ImageGrammar;
  readonly #text: TextStreamer;
  readonly #cands: Candidates;
  readonly #sampler: CategoricalSampler;
  /** Image codes: Gumbel-max with noise fixed by grid position, keyed per image (what makes Jacobi exact under sampling). */
  readonly #noise = new GridNoise();
  /** Whether grid codes are sampled (image top-k > 1), so each image draws a noise key. */
  readonly #sampledGrid: boolean;
  readonly #textWarpers: LogitsWarper[];
  readonly #imageWarpers: LogitsWarper[];
  readonly #textProcessors: LogitsProcessor[];
  readonly #headerProcessors: LogitsProcessor[];
  readonly #gridProcessors: LogitsProcessor[];
  /** Guided grid steps with no user processors and top-k first: CFG fused into the top-k pass (same candidates). */
  readonly #fusedGrid: { cfg: CfgCombine; topK: TopKWarper; rest: LogitsWarper[] } | undefined;
  readonly #criteria: StoppingCriteria[];
  readonly #useCfg: boolean;
  /** Speculative Jacobi decoding of grids (`sampling.image.parallel: 'jacobi'`, or 'zipar' on a decoder without a position mask). */
  readonly #jacobi: JacobiGrid | undefined;
  /** Spatial-locality decoding of grids (`sampling.image.parallel: 'zipar'`, on a decoder with a position mask). */
  readonly #zipar: ZiparGrid | undefined;
  /** The grid scheme that runs (usage.imageDecoding). */
  readonly #scheme: ParallelScheme;
  /** Host time in processors, warpers and sampling this run (the part that grows with the vocabulary). */
  #samplingMs = 0;

  constructor(params: GenerationLoopParams) {
    this.#p = params;
    const v = params.ids.vocabSize;
    this.#grammar = new ImageGrammar(params.ids, params.fixedGrid);
    this.#text = new TextStreamer(params.ids, params.decodeText);
    this.#cands = new Candidates(v);
    this.#sampler = new CategoricalSampler(params.seed);
    this.#textWarpers = buildWarpers(params.sampling.text, v);
    this.#imageWarpers = buildWarpers(params.sampling.image, v);
    this.#sampledGrid = params.sampling.image.topK > 1;
    // cfg = 1 gives logp_u + (logp_c − logp_u) = logp_c exactly, so the unconditional stream is skipped.
    const cfg = params.sampling.cfg === 1 ? undefined : new CfgCombine(params.sampling.cfg, params.exactCfg);
    if (cfg && !params.uncond) throw new InputError('input_invalid', `cfg ${params.sampling.cfg} ≠ 1 needs an unconditional stream (params.uncond)`);
    this.#useCfg = cfg !== undefined;
    const user = params.processors ?? [];
    this.#textProcessors = [new TextModeMask(params.ids.visualOffset), ...user];
    this.#headerProcessors = [new HeaderConstraint(params.ids), ...user];
    this.#gridProcessors = [new GridConstraint(params.ids, cfg), ...user];
    const [first, ...rest] = this.#imageWarpers;
    this.#fusedGrid = cfg && user.length === 0 && first instanceof TopKWarper ? { cfg, topK: first, rest } : undefined;
    const image = params.sampling.image;
    const streams = this.#useCfg ? [params.cond, params.uncond!] : [params.cond];
    // ZipAR keeps raster order only through the decoder's position mask; without one, Jacobi (exact) runs.
    this.#scheme = image.parallel === 'zipar' && !streams.every((lm) => lm.positionMask && lm.feedAll) ? 'jacobi' : (image.parallel ?? 'none');
    this.#zipar = this.#scheme === 'zipar' ? new ZiparGrid(image.rowWindow ?? DEFAULT_ROW_WINDOW) : undefined;
    this.#jacobi = this.#scheme === 'jacobi' ? new JacobiGrid(image.draftWindow ?? DEFAULT_DRAFT_WINDOW) : undefined;
    if (this.#jacobi) JacobiGrid.check(streams);
    this.#criteria = buildStoppingCriteria({ eos: params.ids.eos, eoi: params.ids.eoi, stopAtEoi: params.stopAtEoi, maxNewTokens: params.sampling.maxNewTokens });
  }

  async run(signal: AbortSignal, emit: (e: GenerationEvent) => void): Promise<void> {
    const p = this.#p;
    const ids = p.ids;
    const grammar = this.#grammar;
    const t0 = performance.now();
    const cond0 = p.cond.forwardPasses;
    const uncond0 = p.uncond?.forwardPasses ?? 0;
    const timings = { prefillMs: 0, decodeMs: 0, visionMs: 0, samplingMs: 0, totalMs: 0 };
    this.#samplingMs = 0;
    emit({ type: 'start', task: p.task, promptTokens: p.condPrompt.length, uncondPromptTokens: p.uncondPrompt.length, seed: p.seed });

    const generated: number[] = [];
    const ctx: LogitsContext = { mode: 'text', cond: EMPTY, uncond: undefined, allow: NONE, tokens: generated };
    const images: { grid: Grid; codes: number[]; image?: RgbImage }[] = [];
    let codes: number[] = [];
    let uncondStarted = false;
    /** Whether the last token goes to the unconditional stream too (HF "no_text": BOI..EOI only). */
    let toUncond = false;
    /** The image between its BOI and EOI, if any: what a budget stop leaves half drawn. */
    let open: { grid?: Grid; rowsDone: number } | undefined;
    let stop: FinishReason;
    /** Forward passes the last sequential step cost (2 while both guidance streams run separately). */
    let passes = 1;
    /** Forward passes whose logits decided a grid token (sequential: one per grid token). */
    let imagePasses = 0;
    let imageTokens = 0;
    /** Passes that ran both guidance streams as one batch-2 forward (counted in `cond`). */
    let batchedPasses = 0;
    /**
     * The guidance streams of the current image span (BOI..EOI, after the unconditional prompt): one
     * batch-2 pass where the decoder can batch them, else one pass each. Closed before `cond` is fed alone.
     */
    let span: GuidedStreams | undefined;
    const spanStreams = (): GuidedStreams => {
      span ??= (this.#useCfg && p.batchGuidance !== false ? p.cond.pairWith?.(p.uncond!) : undefined) ?? separateStreams(p.cond, this.#useCfg ? p.uncond : undefined);
      return span;
    };
    const closeSpan = (): void => {
      span?.close();
      span = undefined;
    };
    /** Counts one feed of `n` ids to the span's streams; returns the forward passes it costs. */
    const spanFeed = (n: number): number => {
      const passes = spanStreams().passesFor(n);
      if (this.#useCfg && passes === 1) batchedPasses++;
      return passes;
    };

    /** Takes one decided token: grammar, text and image events, VQ decoding at EOI. */
    const accept = async (token: number): Promise<void> => {
      const wasInImage = grammar.inImage;
      if (grammar.mode === 'grid') imageTokens++;
      generated.push(token);
      const change = grammar.push(token);
      toUncond = this.#useCfg && (wasInImage || token === ids.boi);

      if (!wasInImage && token !== ids.boi) for (const e of this.#text.put(token)) emit(e);
      if (token === ids.boi) for (const e of this.#text.flush()) emit(e);
      if (token === ids.boi && !wasInImage) open = { rowsDone: 0 };
      if (grammar.mode === 'grid' && token >= ids.visualOffset) codes.push(token - ids.visualOffset);
      if (change.kind === 'image.start') {
        codes = [];
        // One draw per image from the seeded stream, only where its codes are sampled: greedy grids spend none.
        if (this.#sampledGrid) this.#noise.rekey(Math.floor(this.#sampler.uniform() * 4294967296));
        open = { grid: change.grid, rowsDone: 0 };
        emit({ type: 'image.start', index: images.length, grid: change.grid });
      } else if (change.kind === 'row') {
        open = { grid: change.grid, rowsDone: change.rowsDone };
        emit({ type: 'image.progress', index: images.length, rowsDone: change.rowsDone, rows: change.grid.rows });
      } else if (change.kind === 'image.end') {
        open = undefined;
        emit({ type: 'image.progress', index: images.length, rowsDone: change.grid.rows, rows: change.grid.rows });
        const done = { grid: change.grid, codes, image: undefined as RgbImage | undefined };
        if (p.decodeImage) {
          // The decoder gets the signal and checks it itself, like the forward passes.
          const tv = performance.now();
          done.image = await p.decodeImage(change.grid, codes, signal);
          timings.visionMs += performance.now() - tv;
        }
        images.push(done);
        emit({ type: 'image.done', index: images.length - 1, grid: done.grid, codes: done.codes, ...(done.image ? { image: done.image } : {}) });
      }
    };
    const gridHost: GridHost = {
      draw: (cond, uncond, prefix, position) => {
        ctx.cond = cond;
        ctx.uncond = uncond;
        ctx.tokens = prefix;
        const token = this.#sample({ kind: 'grid' }, ctx, position);
        ctx.tokens = generated;
        return token;
      },
      forced: (pos, grid) => grammar.gridConstraint.forced(pos, grid),
      accept,
      streams: spanStreams,
    };

    try {
      for (;;) {
        const reason = this.#stopReason(generated, signal);
        if (reason === 'aborted') throw new AbortError('The operation was aborted', { cause: signal.reason });
        if (reason) {
          stop = reason;
          break;
        }

        if (generated.length === 0) {
          ctx.cond = await p.cond.feed(p.condPrompt, signal);
          timings.prefillMs = performance.now() - t0;
        } else if (this.#zipar && grammar.mode === 'grid' && grammar.gridPosition === 0 && p.sampling.maxNewTokens - generated.length >= gridLength(grammar.grid!)) {
          // The whole grid (a budget that would stop inside it leaves this image to sequential decoding).
          const td = performance.now();
          const fedPerPass = await this.#zipar.decode(gridHost, grammar.grid!, generated[generated.length - 1]!, generated, signal);
          for (const n of fedPerPass) imagePasses += spanFeed(n);
          timings.decodeMs += performance.now() - td;
          continue;
        } else if (this.#jacobi && grammar.mode === 'grid') {
          // Several grid tokens per forward pass; `accept` runs for each as below.
          const td = performance.now();
          const gridTokens = generated.slice(generated.length - grammar.gridPosition);
          const budget = p.sampling.maxNewTokens - generated.length;
          const fed = await this.#jacobi.step(gridHost, grammar.grid!, gridTokens, generated[generated.length - 1]!, budget, generated, signal);
          imagePasses += spanFeed(fed);
          timings.decodeMs += performance.now() - td;
          continue;
        } else {
          const token = generated[generated.length - 1]!;
          const td = performance.now();
          if (toUncond && uncondStarted) {
            passes = spanFeed(1);
            const rows = await spanStreams().feedAll([token], signal);
            ctx.cond = rows.cond[0]!;
            ctx.uncond = rows.uncond?.[0];
          } else {
            closeSpan();
            // The unconditional prompt is prefilled lazily, together with the first BOI.
            if (toUncond) {
              ctx.uncond = await p.uncond!.feed([...p.uncondPrompt, token], signal);
              uncondStarted = true;
            } else ctx.uncond = undefined;
            ctx.cond = await p.cond.feed([token], signal);
            passes = toUncond ? 2 : 1;
          }
          timings.decodeMs += performance.now() - td;
        }

        const step = grammar.next();
        if (grammar.mode === 'grid') imagePasses += passes;
        await accept(step.kind === 'force' ? step.token : this.#sample(step, ctx, grammar.gridPosition + 1));
      }
    } finally {
      // An abort or an error mid-image still leaves each stream's cache whole (a session rolls back from there).
      closeSpan();
    }
    for (const e of this.#text.flush()) emit(e);

    const output = attachImages(p.parseOutput(p.decodeText(generated)), images);
    timings.totalMs = performance.now() - t0;
    timings.samplingMs = this.#samplingMs;
    const usage: Usage = {
      promptTokens: p.condPrompt.length,
      uncondPromptTokens: p.uncondPrompt.length,
      generatedTokens: generated.length,
      forwardPasses: { cond: p.cond.forwardPasses - cond0, uncond: (p.uncond?.forwardPasses ?? 0) - uncond0, image: imagePasses, batched: batchedPasses },
      imageDecoding: this.#scheme,
      imageTokens,
      timings,
      stopReason: stop,
    };
    const truncated = stop === 'max_tokens' ? truncation(open, images.length, codes) : undefined;
    emit({ type: 'done', output, tokens: generated, usage, ...(truncated ? { truncated } : {}) });
  }

  /** The first reason the criteria give, in list order. */
  #stopReason(tokens: readonly number[], signal: AbortSignal): StopReason | undefined {
    const list = this.#criteria;
    for (let i = 0; i < list.length; i++) {
      const r = list[i]!.check(tokens, signal);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  /** Draws the next token; a grid code with its position's fixed noise (`GridNoise`), at `position`. */
  #sample(step: SampledStep, ctx: LogitsContext, position: number): number {
    const ts = performance.now();
    this.#prepare(step, ctx);
    const token = step.kind === 'grid' ? this.#noise.draw(this.#cands, position) : this.#sampler.sample(this.#cands);
    this.#samplingMs += performance.now() - ts;
    return token;
  }

  /** Runs the step's processors and warpers into the candidate buffer. */
  #prepare(step: SampledStep, ctx: LogitsContext): void {
    const c = this.#cands;
    let processors: LogitsProcessor[];
    let warpers: LogitsWarper[];
    ctx.mode = step.kind;
    if (step.kind === 'text') {
      ctx.allow = NONE;
      processors = this.#textProcessors;
      warpers = this.#textWarpers;
    } else if (step.kind === 'header') {
      // Header digits: conditional logits only (no CFG), image sampling parameters.
      ctx.allow = step.allow;
      processors = this.#headerProcessors;
      warpers = this.#imageWarpers;
    } else if (this.#fusedGrid) {
      const f = this.#fusedGrid;
      f.topK.warpGuided(c, f.cfg, ctx.cond, ctx.uncond!, this.#p.ids.visualOffset, this.#p.ids.vocabSize);
      for (let i = 0; i < f.rest.length; i++) f.rest[i]!.warp(c);
      return;
    } else {
      ctx.allow = NONE;
      processors = this.#gridProcessors;
      warpers = this.#imageWarpers;
    }
    for (let i = 0; i < processors.length; i++) processors[i]!.process(c, ctx);
    for (let i = 0; i < warpers.length; i++) warpers[i]!.warp(c);
  }
}

type SampledStep = { kind: 'text' } | { kind: 'header'; allow: readonly number[] } | { kind: 'grid' };

const EMPTY = new Float32Array(0);

/** Grid positions after IMG: rows of codes + EOL, the last EOL being EOI. */
function gridLength(grid: Grid): number {
  return grid.rows * (grid.cols + 1);
}
const NONE: readonly number[] = Object.freeze([]);

/** What a budget stop cut off: the open image (its codes so far once its grid is known), if any. */
function truncation(open: { grid?: Grid; rowsDone: number } | undefined, index: number, codes: number[]): Truncation {
  if (!open) return { reason: 'max_tokens' };
  const image = open.grid ? { index, grid: open.grid, rowsDone: open.rowsDone, codes } : { index, rowsDone: 0, codes: [] };
  return { reason: 'max_tokens', image };
}

/** Gives the parsed image items their decoded pixels, in order, where the codes agree. */
function attachImages(output: OutputItem[], images: { grid: Grid; codes: number[]; image?: RgbImage }[]): OutputItem[] {
  let k = 0;
  return output.map((item) => {
    if (item.type !== 'image') return item;
    while (k < images.length && images[k]!.codes.length !== item.codes.length) k++;
    const img = images[k++];
    return img?.image ? { ...item, image: img.image } : item;
  });
}
