import { Observable } from 'rxjs';
import { z } from 'zod';
import { AbortError, InputError, parseOrThrow, throwIfAborted } from '../errors.ts';
import type { GenerationEvent, Grid } from '../generation/GenerationEvent.ts';
import { GenerationLoop, type GenerationLoopParams } from '../generation/GenerationLoop.ts';
import { resolveSampling } from '../generation/resolveSampling.ts';
import { SamplingOverridesSchema, GridTupleSchema } from '../generation/TaskRequest.ts';
import { RgbImageSchema, type RgbImage } from '../image/RgbImage.ts';
import { TaskNameSchema, type ModelManifest } from '../model/ModelManifest.ts';
import { buildPrompts, buildTurnPrompt, type PromptImage } from '../prompt/buildPrompts.ts';
import type { DecoderSession } from '../runtime/DecoderSession.ts';
import type { TiktokenTokenizer } from '../tokenizer/TiktokenTokenizer.ts';
import { BanIds } from '../generation/processors/BanIds.ts';
import { walkSession, type EmuSession, type StepOptions, type WalkItem, type WalkOptions } from './EmuSession.ts';

export const GenerationSessionOptionsSchema = z
  .object({
    /** An interleaved task whose template has a user turn (explore; story and howto work too). */
    task: TaskNameSchema.default('explore'),
    /** The starting view(s), as reference images of the first turn. */
    images: z.array(RgbImageSchema).default([]),
    /** Put before the first command (a scene description, standing instructions). */
    prompt: z.string().default(''),
    /** Step i samples with seed + i: the same seed and commands give the same session. */
    seed: z.number().int().optional(),
    sampling: SamplingOverridesSchema.optional(),
    /** Grid of every generated view; default: the first view's (reference or generated), kept for the whole session. */
    grid: GridTupleSchema.optional(),
    /**
     * `keep` (default): the KV cache stays between steps, a step costs its own tokens.
     * `recompute`: every step re-prefills the whole history (the baseline the kept cache is measured against).
     */
    cache: z.enum(['keep', 'recompute']).default('keep'),
    /**
     * When the next step would not fit the context: `error` (default) refuses it, typed, before any
     * work; `drop-oldest` keeps the system prompt and the newest turns that fit in half the context
     * (and leave the step its whole token budget), re-prefills them, and says so (`onContextDrop`,
     * `dropped`): one re-prefill buys several steps.
     */
    contextFull: z.enum(['error', 'drop-oldest']).default('error'),
    /** Where commands go (`SessionTurns`): default the task's manifest `session.placement`, else `user`. */
    placement: z.enum(['user', 'answer']).optional(),
    /** `answer` placement: views one answer holds before re-anchoring; default the manifest's `session.maxViews` (none: only when the context is full). */
    maxViews: z.number().int().positive().optional(),
  })
  .strict();
export type GenerationSessionOptions = z.input<typeof GenerationSessionOptionsSchema>;

/** What a session needs from the backend that opened it. */
export interface SessionHost {
  manifest: ModelManifest;
  tokenizer: TiktokenTokenizer;
  newCache(): DecoderSession;
  encodeImage(image: RgbImage, area: number, signal: AbortSignal): Promise<PromptImage>;
  /** ids, text decoding, output parsing, VQ decoding: the parts of the loop's params every request shares. */
  loopBase(): Pick<GenerationLoopParams, 'ids' | 'decodeText' | 'parseOutput' | 'decodeImage' | 'batchGuidance'>;
}

interface State {
  cond: DecoderSession;
  uncond: DecoderSession | undefined;
  /** The unconditional prompt, fed with the session's first image (until then the stream is empty). */
  uncondPrompt: number[];
  turns: number;
  grid: Grid | undefined;
  /** Where each turn starts in the context: turn 0 after the system prompt, then each USER turn. */
  turnStarts: number[];
  /** Turns dropped so far (drop-oldest, or views dropped by an `answer` session's re-anchoring). */
  dropped: number;
  /** `answer` placement: the token that ended the last step (its EOI), not fed yet: the next step feeds it first. */
  pending: number[];
  /** `answer` placement: views in the current answer, the newest of them, and whether the last step broke off mid-answer. */
  views: number;
  lastView: PromptImage | undefined;
  broken: boolean;
}

/** What a drop-oldest re-prefill did. */
export interface ContextDrop {
  droppedTurns: number;
  keptTurns: number;
  /** Positions before and after. */
  from: number;
  to: number;
}

/**
 * A multi-turn generation that keeps its context: each `step(text)` appends the user's command as
 * the template places user turns, then generates until the model's turn ends (ESS EOS), streaming
 * the usual GenerationEvents. The KV cache (both guidance streams) stays between steps, so step N
 * costs its own tokens, not the history's. A step that is cancelled or fails leaves the session at
 * the state before it; `fork()` branches the cache; a step that cannot fit the context is refused
 * before any work.
 *
 * @example
 * const session = await backend.openSession({ task: 'explore', images: [view], seed: 1 });
 * const first = await collect(session.step('turn left'));
 */
export class GenerationSession implements EmuSession {
  readonly #host: SessionHost;
  readonly #options: z.output<typeof GenerationSessionOptionsSchema>;
  #state: State;
  #busy = false;
  #closed = false;
  #refs: PromptImage[] | undefined;

  #onDrop: ((drop: ContextDrop) => void) | undefined;

  constructor(host: SessionHost, options: GenerationSessionOptions, state?: State, refs?: PromptImage[], onDrop?: (drop: ContextDrop) => void) {
    this.#onDrop = onDrop;
    this.#host = host;
    this.#options = parseOrThrow(GenerationSessionOptionsSchema, options, 'session options');
    const { manifest } = host;
    if (!manifest.tasks[this.#options.task]) throw new InputError('unknown_task', `task '${this.#options.task}' is not configured in model '${manifest.name}'`);
    this.#state = state ?? { cond: host.newCache(), uncond: undefined, uncondPrompt: [], turns: 0, turnStarts: [], dropped: 0, pending: [], views: 0, lastView: undefined, broken: false, grid: this.#options.grid ? { rows: this.#options.grid[0], cols: this.#options.grid[1] } : undefined };
    this.#refs = refs;
  }

  /** Steps taken (finished ones). */
  get turns(): number {
    return this.#state.turns;
  }

  /** Turns dropped from the context so far (drop-oldest). */
  get dropped(): number {
    return this.#state.dropped;
  }

  /** Called whenever drop-oldest re-prefills a shorter history. */
  onContextDrop(listener: (drop: ContextDrop) => void): GenerationSession {
    this.#onDrop = listener;
    return this;
  }

  /** Positions in the context so far. */
  get length(): number {
    return this.#state.cond.length;
  }

  /** The model's context: what `length` may grow to. */
  get maxPositions(): number {
    return this.#host.manifest.decoder.maxPositions;
  }

  /** The token ids in the context: prompts, turns and the model's answers, in order. */
  get history(): readonly number[] {
    const { cond, pending } = this.#state;
    return pending.length ? [...cond.tokens, ...pending] : cond.tokens;
  }

  /** Where this task's commands go (the manifest's `session`, default a new USER turn each). */
  get placement(): 'user' | 'answer' {
    return this.#options.placement ?? this.#host.manifest.tasks[this.#options.task]!.session?.placement ?? 'user';
  }

  /**
   * One turn: the command, then the model's answer, streamed. Cold: work starts on subscribe;
   * unsubscribing or `signal` cancels it and rolls the session back to where the step started.
   */
  step(text: string, options: StepOptions = {}): Observable<GenerationEvent> {
    return new Observable<GenerationEvent>((subscriber) => {
      if (this.#closed) return subscriber.error(new InputError('input_invalid', 'the session is closed'));
      if (this.#busy) return subscriber.error(new InputError('input_invalid', 'a step of this session is still running: wait for it, or fork() the session'));
      this.#busy = true;
      const controller = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
      const s0 = this.#state;
      const before = { cond: s0.cond.length, uncond: s0.uncond?.length ?? 0, uncondPrompt: s0.uncondPrompt, grid: s0.grid, condCache: s0.cond, uncondCache: s0.uncond, turnStarts: s0.turnStarts, dropped: s0.dropped, pending: s0.pending, views: s0.views, lastView: s0.lastView, broken: s0.broken };
      let settled = false;
      const rollback = () => {
        this.#state.cond = before.condCache;
        this.#state.cond.truncate(before.cond);
        this.#state.uncond = before.uncondCache;
        this.#state.uncond?.truncate(before.uncond);
        this.#state.turnStarts = before.turnStarts;
        this.#state.dropped = before.dropped;
        this.#state.uncondPrompt = before.uncondPrompt;
        this.#state.grid = before.grid;
        this.#state.pending = before.pending;
        this.#state.views = before.views;
        this.#state.lastView = before.lastView;
        this.#state.broken = before.broken;
      };
      // The session is busy until the loop has really stopped: only then may the cache be rolled back.
      const work = (async () => {
        const params = await this.#prepare(text, options.sampling, signal);
        let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
        await new GenerationLoop(params).run(signal, (e) => {
          if (e.type === 'image.start') this.#state.grid ??= e.grid;
          if (e.type === 'done') done = e;
          else if (!subscriber.closed) subscriber.next(e);
        });
        await this.#commit(done!, params, signal);
        return done!;
      })();
      work.then(
        (done) => {
          settled = true;
          this.#busy = false;
          subscriber.next(done);
          subscriber.complete();
        },
        (err: unknown) => {
          settled = true;
          rollback();
          this.#busy = false;
          subscriber.error(signal.aborted && !(err instanceof AbortError) ? new AbortError('The operation was aborted', { cause: err }) : err);
        },
      );
      return () => {
        if (!settled) controller.abort(new AbortError('unsubscribed'));
      };
    });
  }

  /** Free exploration: see `walkSession`. */
  walk(options: WalkOptions): Observable<WalkItem> {
    return walkSession(this, options);
  }

  /** A branch of this session: the same context, its own future (try two commands from one state). */
  fork(): GenerationSession {
    if (this.#busy) throw new InputError('input_invalid', 'cannot fork while a step is running');
    if (this.#closed) throw new InputError('input_invalid', 'the session is closed');
    const s = this.#state;
    return new GenerationSession(this.#host, this.#options, { ...s, cond: s.cond.clone(), uncond: s.uncond?.clone(), turnStarts: [...s.turnStarts], pending: [...s.pending] }, this.#refs, this.#onDrop);
  }

  /** Frees the context. Further steps are refused. */
  close(): void {
    this.#closed = true;
    this.#state.cond.reset();
    this.#state.uncond?.reset();
  }

  async #prepare(text: string, overrides: z.input<typeof SamplingOverridesSchema> | undefined, signal: AbortSignal): Promise<GenerationLoopParams> {
    throwIfAborted(signal);
    const host = this.#host;
    const o = this.#options;
    const { manifest, tokenizer } = host;
    const task = manifest.tasks[o.task]!;
    const sampling = resolveSampling(task.sampling, { ...o.sampling, ...(overrides ? parseOrThrow(SamplingOverridesSchema, overrides, 'step sampling') : {}) });
    const s = this.#state;
    const maxPositions = manifest.decoder.maxPositions;
    let condPrompt: number[];
    const start = s.cond.length;
    const answer = this.placement === 'answer';
    if (answer) {
      condPrompt = await this.#answerTurn(text, sampling.maxNewTokens, sampling.imageArea, signal);
    } else if (s.turns === 0 && s.cond.length === 0) {
      this.#refs ??= await Promise.all(o.images.map((im) => host.encodeImage(im, sampling.imageArea, signal)));
      const question = [o.prompt, text].filter(Boolean).join(' ');
      const prompts = buildPrompts({ manifest, tokenizer, task: o.task, question, images: this.#refs });
      condPrompt = prompts.cond;
      s.uncondPrompt = prompts.uncond;
      const first = this.#refs[0];
      s.grid ??= first ? { rows: first.rows, cols: first.cols } : undefined;
      // The system prompt: what the first prompt has before its user turn (kept by drop-oldest).
      const turn = buildTurnPrompt({ manifest, tokenizer, task: o.task, question, images: this.#refs, room: maxPositions });
      const system = condPrompt.length - turn.length;
      const same = system >= 0 && turn.every((id, i) => condPrompt[system + i] === id);
      s.turnStarts = [same ? system : 0];
    } else {
      condPrompt = buildTurnPrompt({ manifest, tokenizer, task: o.task, question: text, images: [], room: maxPositions - 1 });
      s.turnStarts = [...s.turnStarts, start];
      if (o.contextFull === 'drop-oldest' && s.cond.length + condPrompt.length + sampling.maxNewTokens > maxPositions) {
        condPrompt = this.#dropOldest(condPrompt, sampling.maxNewTokens);
      } else if (s.cond.length + condPrompt.length >= maxPositions) {
        throw new InputError('context_overflow', `the session's context is full (${s.cond.length} of ${maxPositions} positions, and this turn is ${condPrompt.length} tokens): fork an earlier state, open a new session, or open it with contextFull: 'drop-oldest'`);
      }
    }
    // Refused before any work: the turn and at least one answer token must fit.
    // (An `answer` step's pending token is in condPrompt, not yet in the cache.)
    const room = maxPositions - s.cond.length - condPrompt.length;
    if (room < 1) {
      throw new InputError('context_overflow', `the session holds ${s.cond.length} of ${maxPositions} positions; this turn's ${condPrompt.length} tokens leave no room for an answer (fork or open a new session)`);
    }
    sampling.maxNewTokens = Math.min(sampling.maxNewTokens, room);
    if (sampling.cfg !== 1) s.uncond ??= host.newCache();
    if (o.cache === 'recompute') {
      // The baseline: the whole (conditional) history fed again, from an empty cache.
      const history = s.cond.tokens;
      s.cond = host.newCache();
      condPrompt = [...history, ...condPrompt];
    }
    return {
      ...host.loopBase(),
      task: o.task,
      cond: s.cond,
      ...(s.uncond ? { uncond: s.uncond } : {}),
      condPrompt,
      // Fed with the first image of the session; afterwards the stream continues from its cache.
      uncondPrompt: s.uncond && s.uncond.length > 0 ? [] : s.uncondPrompt,
      sampling,
      seed: (o.seed ?? manifest.imageSizing.defaultSeed) + s.turns,
      ...(s.grid ? { fixedGrid: s.grid } : {}),
      // An `answer` step is one view, and it must draw one: the answer never ends inside a session.
      stopAtEoi: answer,
      ...(answer ? { processors: [new BanIds([host.loopBase().ids.eos, manifest.vocab.ids.ess])] } : {}),
    };
  }

  /**
   * What an `answer` step feeds: the last step's EOI, then the command as the model's next narration
   * (nothing: the model chooses its move). The first step, a step past the model's `maxViews`, one
   * after a step that broke off, and (with drop-oldest) one that would overflow the context start from
   * a fresh prompt whose reference image is the newest view: the re-anchoring `SessionTurns` describes.
   * The first prompt's USER turn is the session's `prompt`, else the manifest's `session.question`.
   */
  async #answerTurn(text: string, budget: number, imageArea: number, signal: AbortSignal): Promise<number[]> {
    const s = this.#state;
    const o = this.#options;
    const { manifest, tokenizer } = this.#host;
    const turns = manifest.tasks[o.task]!.session;
    const maxViews = o.maxViews ?? turns?.maxViews;
    const max = manifest.decoder.maxPositions;
    const move = text ? tokenizer.encodeOrdinary(text) : [];
    const anchor = (images: PromptImage[]) => {
      const prompts = buildPrompts({ manifest, tokenizer, task: o.task, question: o.prompt || (turns?.question ?? ''), images });
      s.uncondPrompt = prompts.uncond;
      s.pending = [];
      s.views = 0;
      s.broken = false;
      return [...prompts.cond, ...move];
    };
    if (s.turns === 0 && s.cond.length === 0) {
      this.#refs ??= await Promise.all(o.images.map((im) => this.#host.encodeImage(im, imageArea, signal)));
      const first = this.#refs[0];
      s.grid ??= first ? { rows: first.rows, cols: first.cols } : undefined;
      return anchor(this.#refs);
    }
    const full = s.cond.length + s.pending.length + move.length + budget > max;
    const past = maxViews !== undefined && s.views >= maxViews;
    if (!past && !s.broken && !full) {
      const feed = [...s.pending, ...move];
      s.pending = [];
      return feed;
    }
    if (full && !past && !s.broken && o.contextFull === 'error') {
      throw new InputError('context_overflow', `the session's context is full (${s.cond.length} of ${max} positions, and this step may take ${move.length + budget} more): fork an earlier state, open a new session, or open it with contextFull: 'drop-oldest'`);
    }
    const drop: ContextDrop = { droppedTurns: s.views, keptTurns: 0, from: s.cond.length + s.pending.length, to: 0 };
    s.dropped += s.views;
    s.cond = this.#host.newCache();
    if (s.uncond) s.uncond = this.#host.newCache();
    // The newest view; before any, the session's own opening images.
    const feed = anchor(s.lastView ? [s.lastView] : (this.#refs ?? []));
    drop.to = feed.length - move.length;
    this.#onDrop?.(drop);
    return feed;
  }

  /**
   * Keeps the system prompt and the newest whole turns that leave `budget` tokens for the answer,
   * in a fresh cache; returns what to feed (that history, then the new turn). The old cache stays
   * with the step's rollback.
   */
  #dropOldest(turn: number[], budget: number): number[] {
    const s = this.#state;
    const max = this.#host.manifest.decoder.maxPositions;
    const history = s.cond.tokens;
    const starts = s.turnStarts.slice(0, -1); // the last start is the new turn's
    const system = history.slice(0, starts[0] ?? 0);
    // Down to half the context at least (when that leaves the step its budget): a re-prefill then
    // buys several steps, instead of one per step once the context is full.
    const room = Math.min(max - budget - turn.length, Math.floor(max / 2)) - system.length;
    let keep = starts.length;
    while (keep > 0 && history.length - starts[starts.length - keep]! > room) keep--;
    if (keep === 0) throw new InputError('context_overflow', `even with every earlier turn dropped, this turn (${turn.length} tokens) and its budget of ${budget} do not fit the context of ${max} positions: lower maxNewTokens`);
    const from = starts[starts.length - keep]!;
    const kept = [...system, ...history.slice(from)];
    const shift = from - system.length;
    s.turnStarts = [...starts.slice(starts.length - keep).map((p) => p - shift), kept.length];
    const drop: ContextDrop = { droppedTurns: starts.length - keep, keptTurns: keep, from: history.length, to: kept.length };
    s.dropped += drop.droppedTurns;
    s.cond = this.#host.newCache();
    if (s.uncond) {
      // The unconditional stream starts over from its own prompt with the next image.
      s.uncond = this.#host.newCache();
    }
    this.#onDrop?.(drop);
    return [...kept, ...turn];
  }

  /**
   * After `done`: the context must hold the whole turn. The loop feeds every token but the last;
   * the last one is fed too unless it is EOS (the end of the turn, replaced by the next USER turn).
   */
  async #commit(done: Extract<GenerationEvent, { type: 'done' }>, params: GenerationLoopParams, signal: AbortSignal): Promise<void> {
    const last = done.tokens.at(-1);
    if (this.placement === 'answer') {
      // The view's EOI waits for the next step (which feeds it with its command, in one pass).
      const s = this.#state;
      const view = done.usage.stopReason === 'eoi' ? done.output.findLast((o) => o.type === 'image') : undefined;
      if (view?.type === 'image') {
        s.views++;
        s.lastView = { rows: view.grid.rows, cols: view.grid.cols, codes: view.codes };
        s.pending = [last!];
      } else s.broken = true; // cut off mid-view: the next step re-anchors on the last whole view
      s.turns++;
      return;
    }
    if (last !== undefined && last !== params.ids.eos) await this.#state.cond.feed([last], signal);
    this.#state.turns++;
  }
}
