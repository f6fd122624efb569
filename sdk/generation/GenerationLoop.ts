import { throwIfAborted } from '../errors.ts';
import type { SamplingPreset, TaskName } from '../model/ModelManifest.ts';
import type { RgbImage } from '../image/RgbImage.ts';
import { buildWarpers } from './buildWarpers.ts';
import { Candidates } from './Candidates.ts';
import type { CausalLm } from './CausalLm.ts';
import { CategoricalSampler } from './CategoricalSampler.ts';
import type { GenerationEvent, Grid, OutputItem, StopReason, Usage } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';
import { ImageGrammar } from './ImageGrammar.ts';
import type { LogitsWarper } from './LogitsWarper.ts';
import { CfgCombine } from './processors/CfgCombine.ts';
import { TextModeMask } from './processors/TextModeMask.ts';
import { TextStreamer, type TextStreamerIds } from './TextStreamer.ts';

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
  /** Exact log-softmax CFG values instead of the shift-free hot path (same samples). */
  exactCfg?: boolean;
}

/**
 * One generation: forward → processors → warpers → sampler → stopping checks → events, per token.
 * The abort signal is checked before every forward pass, so no model work follows an abort.
 */
export class GenerationLoop {
  readonly #p: GenerationLoopParams;
  readonly #grammar: ImageGrammar;
  readonly #text: TextStreamer;
  readonly #cands: Candidates;
  readonly #scores: Float32Array;
  readonly #sampler: CategoricalSampler;
  readonly #textWarpers: LogitsWarper[];
  readonly #imageWarpers: LogitsWarper[];
  readonly #textMask: TextModeMask;
  readonly #cfg: CfgCombine | undefined;

  constructor(params: GenerationLoopParams) {
    this.#p = params;
    const v = params.ids.vocabSize;
    this.#grammar = new ImageGrammar(params.ids, params.fixedGrid);
    this.#text = new TextStreamer(params.ids, params.decodeText);
    this.#cands = new Candidates(v);
    this.#scores = new Float32Array(v);
    this.#sampler = new CategoricalSampler(params.seed);
    this.#textWarpers = buildWarpers(params.sampling.text, v);
    this.#imageWarpers = buildWarpers(params.sampling.image, v);
    this.#textMask = new TextModeMask(params.ids.visualOffset);
    // cfg = 1 gives logp_u + (logp_c − logp_u) = logp_c exactly, so the unconditional stream is skipped.
    this.#cfg = params.sampling.cfg === 1 ? undefined : new CfgCombine(params.sampling.cfg, params.exactCfg);
    if (this.#cfg && !params.uncond) throw new RangeError('cfg ≠ 1 needs an unconditional stream');
  }

  async run(signal: AbortSignal, emit: (e: GenerationEvent) => void): Promise<void> {
    const p = this.#p;
    const ids = p.ids;
    const t0 = performance.now();
    const cond0 = p.cond.forwardPasses;
    const uncond0 = p.uncond?.forwardPasses ?? 0;
    const timings = { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 };
    emit({ type: 'start', task: p.task, promptTokens: p.condPrompt.length, uncondPromptTokens: p.uncondPrompt.length, seed: p.seed });

    throwIfAborted(signal);
    let logits = await p.cond.feed(p.condPrompt, signal);
    timings.prefillMs = performance.now() - t0;
    let uncondLogits: Float32Array | undefined;
    let uncondStarted = false;
    const generated: number[] = [];
    const images: { grid: Grid; codes: number[]; image?: RgbImage }[] = [];
    let codes: number[] = [];
    let stop: StopReason = 'max_tokens';

    for (let n = 0; n < p.sampling.maxNewTokens; n++) {
      const step = this.#grammar.next();
      const token = step.kind === 'force' ? step.token : this.#sample(step, logits, uncondLogits);
      const wasInImage = this.#grammar.inImage;
      generated.push(token);
      const change = this.#grammar.push(token);

      if (!wasInImage && token !== ids.boi) for (const e of this.#text.put(token)) emit(e);
      if (token === ids.boi) for (const e of this.#text.flush()) emit(e);
      if (this.#grammar.mode === 'grid' && token >= ids.visualOffset) codes.push(token - ids.visualOffset);
      if (change.kind === 'image.start') {
        codes = [];
        emit({ type: 'image.start', index: images.length, grid: change.grid });
      } else if (change.kind === 'row') {
        emit({ type: 'image.progress', index: images.length, rowsDone: change.rowsDone, rows: change.grid.rows });
      } else if (change.kind === 'image.end') {
        emit({ type: 'image.progress', index: images.length, rowsDone: change.grid.rows, rows: change.grid.rows });
        const done = { grid: change.grid, codes, image: undefined as RgbImage | undefined };
        if (p.decodeImage) {
          throwIfAborted(signal);
          const tv = performance.now();
          done.image = await p.decodeImage(change.grid, codes, signal);
          timings.visionMs += performance.now() - tv;
        }
        images.push(done);
        emit({ type: 'image.done', index: images.length - 1, grid: done.grid, codes: done.codes, ...(done.image ? { image: done.image } : {}) });
      }

      if (token === ids.eos) {
        stop = 'eos';
        break;
      }
      if (token === ids.eoi && p.stopAtEoi) {
        stop = 'eoi';
        break;
      }
      if (n + 1 === p.sampling.maxNewTokens) break;

      throwIfAborted(signal);
      const td = performance.now();
      // HF "no_text": only BOI..EOI tokens reach the unconditional stream; its prompt is prefilled lazily.
      if (this.#cfg && (wasInImage || token === ids.boi)) {
        uncondLogits = uncondStarted ? await p.uncond!.feed([token], signal) : await p.uncond!.feed([...p.uncondPrompt, token], signal);
        uncondStarted = true;
        throwIfAborted(signal);
      }
      logits = await p.cond.feed([token], signal);
      timings.decodeMs += performance.now() - td;
    }
    for (const e of this.#text.flush()) emit(e);

    const output = attachImages(p.parseOutput(p.decodeText(generated)), images);
    timings.totalMs = performance.now() - t0;
    const usage: Usage = {
      promptTokens: p.condPrompt.length,
      uncondPromptTokens: p.uncondPrompt.length,
      generatedTokens: generated.length,
      forwardPasses: { cond: p.cond.forwardPasses - cond0, uncond: (p.uncond?.forwardPasses ?? 0) - uncond0 },
      timings,
      stopReason: stop,
    };
    emit({ type: 'done', output, tokens: generated, usage });
  }

  #sample(step: { kind: 'text' } | { kind: 'header'; allow: readonly number[] } | { kind: 'grid' }, cond: Float32Array, uncond: Float32Array | undefined): number {
    const c = this.#cands;
    const scores = this.#scores;
    const ids = this.#p.ids;
    let warpers: LogitsWarper[];
    if (step.kind === 'text') {
      scores.set(cond);
      this.#textMask.process(scores);
      c.gather(scores, 0, ids.visualOffset);
      warpers = this.#textWarpers;
    } else if (step.kind === 'header') {
      // Header digits: conditional logits only (no CFG), image sampling parameters.
      c.gatherIds(cond, step.allow);
      warpers = this.#imageWarpers;
    } else {
      // CFG then the visual-only mask: only the ids the mask keeps are computed.
      // Written straight into the candidate buffer as a dense visual range (no gather pass).
      const n = ids.vocabSize - ids.visualOffset;
      if (this.#cfg) this.#cfg.process(c.logits, cond, uncond!, ids.visualOffset, ids.vocabSize, 0);
      else c.logits.set(cond.subarray(ids.visualOffset));
      c.setDense(ids.visualOffset, n);
      warpers = this.#imageWarpers;
    }
    for (const w of warpers) w.warp(c);
    return this.#sampler.sample(c);
  }
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
