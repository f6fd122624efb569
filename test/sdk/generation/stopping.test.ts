import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { AbortError, EngineError, InputError } from '../../../sdk/errors.ts';
import { generate } from '../../../sdk/generation/generate.ts';
import type { GenerationEvent } from '../../../sdk/generation/GenerationEvent.ts';
import { GenerationLoop } from '../../../sdk/generation/GenerationLoop.ts';
import type { LogitsContext, LogitsProcessor } from '../../../sdk/generation/LogitsProcessor.ts';
import { Candidates } from '../../../sdk/generation/Candidates.ts';
import { RepetitionPenalty } from '../../../sdk/generation/processors/RepetitionPenalty.ts';
import { AbortCriteria, EoiCriteria, EosCriteria, MaxTokensCriteria, buildStoppingCriteria } from '../../../sdk/generation/stopping/StoppingCriteria.ts';
import { TopKWarper } from '../../../sdk/generation/warpers/TopKWarper.ts';
import { TopPWarper } from '../../../sdk/generation/warpers/TopPWarper.ts';
import { TemperatureWarper } from '../../../sdk/generation/warpers/TemperatureWarper.ts';
import { CategoricalSampler } from '../../../sdk/generation/CategoricalSampler.ts';
import { A, B, TOY, V, flatUncond, loopParams, scriptedCond } from './fixtures.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

const { boi, eoi, img, eol, eos, star } = TOY;
const run = (p: Parameters<typeof generate>[0], signal?: AbortSignal) => lastValueFrom(generate(p, signal).pipe(toArray()));
const done = (events: GenerationEvent[]) => events.find((e) => e.type === 'done') as Extract<GenerationEvent, { type: 'done' }>;
const live = new AbortController().signal;

describe('stopping criteria', () => {
  it('each criterion reports its reason, and only then', () => {
    const fired = new AbortController();
    fired.abort();
    assert.equal(new AbortCriteria().check([], fired.signal), 'aborted');
    assert.equal(new AbortCriteria().check([1], live), undefined);
    assert.equal(new EosCriteria(eos).check([A, eos]), 'eos');
    assert.equal(new EosCriteria(eos).check([eos, A]), undefined);
    assert.equal(new EosCriteria(eos).check([]), undefined);
    assert.equal(new EoiCriteria(eoi).check([V(1), eoi]), 'eoi');
    assert.equal(new EoiCriteria(eoi).check([eoi, A]), undefined);
    assert.equal(new MaxTokensCriteria(2).check([A]), undefined);
    assert.equal(new MaxTokensCriteria(2).check([A, A]), 'max_tokens');
  });

  it('the loop list: abort wins, EOI only with stopAtEoi', () => {
    const first = (list: ReturnType<typeof buildStoppingCriteria>, tokens: number[], signal: AbortSignal) => list.map((c) => c.check(tokens, signal)).find((r) => r !== undefined);
    const fired = new AbortController();
    fired.abort();
    const withEoi = buildStoppingCriteria({ eos, eoi, stopAtEoi: true, maxNewTokens: 1 });
    assert.equal(first(withEoi, [eos], fired.signal), 'aborted');
    assert.equal(first(withEoi, [eos], live), 'eos');
    assert.equal(first(withEoi, [eoi], live), 'eoi');
    const noEoi = buildStoppingCriteria({ eos, eoi, stopAtEoi: false, maxNewTokens: 5 });
    assert.equal(first(noEoi, [eoi], live), undefined);
    assert.equal(first(noEoi, [A, A, A, A, A], live), 'max_tokens');
  });

  it('the loop stops with stopReason eos, eoi and max_tokens', async () => {
    const cfg1 = { ...loopParams({ cond: flatUncond() }).sampling, cfg: 1 };
    const eosRun = done(await run(loopParams({ cond: scriptedCond(3, [A, B]), sampling: cfg1 })));
    assert.deepEqual([eosRun.tokens, eosRun.usage.stopReason], [[A, B, eos], 'eos']);
    const image = [boi, 1, star, 1, img, V(2), eoi, A];
    const eoiRun = done(await run(loopParams({ cond: scriptedCond(3, image), sampling: cfg1, fixedGrid: { rows: 1, cols: 1 }, stopAtEoi: true })));
    assert.deepEqual([eoiRun.tokens, eoiRun.usage.stopReason], [image.slice(0, 7), 'eoi']);
    const noStop = done(await run(loopParams({ cond: scriptedCond(3, image), sampling: cfg1, fixedGrid: { rows: 1, cols: 1 } })));
    assert.deepEqual(noStop.tokens, [...image, eos]);
    const maxRun = done(await run(loopParams({ cond: scriptedCond(3, [A, A, A, A]), sampling: { ...cfg1, maxNewTokens: 2 } })));
    assert.deepEqual([maxRun.tokens, maxRun.usage.stopReason], [[A, A], 'max_tokens']);
  });

  it('a budget stop says truncated, naming the image it cut off; a finished run does not', async () => {
    const cfg1 = { ...loopParams({ cond: flatUncond() }).sampling, cfg: 1 };
    // A 2×2 image: BOI 2*2 IMG v v EOL v v EOI. Cut after its first row (and one code of the second).
    const image = [boi, 2, star, 2, img, V(1), V(2), eol, V(3), V(4), eoi];
    const cut = done(await run(loopParams({ cond: scriptedCond(3, [A, ...image]), sampling: { ...cfg1, maxNewTokens: 10 }, fixedGrid: { rows: 2, cols: 2 }, stopAtEoi: true })));
    assert.equal(cut.usage.stopReason, 'max_tokens');
    assert.deepEqual(cut.truncated, { reason: 'max_tokens', image: { index: 0, grid: { rows: 2, cols: 2 }, rowsDone: 1, codes: [1, 2, 3] } });
    const inHeader = done(await run(loopParams({ cond: scriptedCond(3, [A, ...image]), sampling: { ...cfg1, maxNewTokens: 3 }, fixedGrid: { rows: 2, cols: 2 }, stopAtEoi: true })));
    assert.deepEqual(inHeader.truncated, { reason: 'max_tokens', image: { index: 0, rowsDone: 0, codes: [] } });
    const inText = done(await run(loopParams({ cond: scriptedCond(3, [A, A, A]), sampling: { ...cfg1, maxNewTokens: 2 } })));
    assert.deepEqual(inText.truncated, { reason: 'max_tokens' });
    const whole = done(await run(loopParams({ cond: scriptedCond(3, [A, ...image]), sampling: cfg1, fixedGrid: { rows: 2, cols: 2 }, stopAtEoi: true })));
    assert.equal(whole.usage.stopReason, 'eoi');
    assert.equal(whole.truncated, undefined);
  });

  it("an abort is the criteria's 'aborted': the loop rejects with AbortError (signal reason as cause), before any forward pass", async () => {
    const cond = new ScriptedLm(TOY.vocabSize, () => peaked(TOY.vocabSize, A, 40));
    const ac = new AbortController();
    const why = new Error('user cancelled');
    ac.abort(why);
    const events: GenerationEvent[] = [];
    const err = await new GenerationLoop(loopParams({ cond, sampling: { ...loopParams({ cond }).sampling, cfg: 1 } })).run(ac.signal, (e) => events.push(e)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AbortError && err.code === 'aborted', `expected AbortError, got ${String(err)}`);
    assert.equal(err.cause, why);
    assert.equal(cond.forwardPasses, 0);
    assert.deepEqual(events.map((e) => e.type), ['start']);
  });

  it('an abort mid-run rejects before the next forward pass, even on what would be the last token', async () => {
    const cond = new ScriptedLm(TOY.vocabSize, () => peaked(TOY.vocabSize, A, 40));
    const ac = new AbortController();
    let n = 0;
    const err = await new GenerationLoop(loopParams({ cond, sampling: { ...loopParams({ cond }).sampling, cfg: 1, maxNewTokens: 3 } }))
      .run(ac.signal, (e) => {
        if (e.type === 'text.delta' && ++n === 3) ac.abort();
      })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AbortError);
    assert.equal(cond.forwardPasses, 3);
  });
});

describe('generation loop processors', () => {
  /** Records the modes it saw and forces `id` in text mode by masking everything else. */
  class Recorder implements LogitsProcessor {
    readonly modes: string[] = [];
    readonly counts: number[] = [];
    constructor(readonly id?: number) {}
    process(c: Candidates, ctx: LogitsContext): void {
      this.modes.push(ctx.mode);
      this.counts.push(c.count);
      if (this.id === undefined || ctx.mode !== 'text') return;
      for (let i = 0; i < c.count; i++) if (c.idAt(i) !== this.id) c.logits[i] = -Infinity;
    }
  }

  it('runs user processors after the built-in ones, at every sampled step of every mode, and their edits decide the token', async () => {
    // cond wants A in text; the user processor forces B; the 2×2 grid's visual steps run it too, forced steps do not.
    const header = [2, star, 2, img];
    const cond = scriptedCond(3, [A, A, boi, ...header, V(1), V(2), eol, V(3), V(4), eoi, eos]);
    const rec = new Recorder(B);
    const events = await run(loopParams({ cond, uncond: flatUncond(), processors: [rec], sampling: { ...loopParams({ cond }).sampling, maxNewTokens: 6 } }));
    const toks = done(events).tokens;
    assert.deepEqual(toks, [B, B, B, B, B, B]);
    assert.deepEqual(rec.modes, ['text', 'text', 'text', 'text', 'text', 'text']);
    // built-in text mask ran first: the user saw only the non-visual ids
    assert.ok(rec.counts.every((n) => n === TOY.visualOffset));

    // Fixed 2×2 grid: BOI sampled (text), header/EOL/EOI forced (no processors), 4 visual steps (grid, CFG on).
    const rec2 = new Recorder();
    const cond2 = scriptedCond(3, [boi, ...header, V(1), V(2), eol, V(3), V(4), eoi]);
    const out2 = done(await run(loopParams({ cond: cond2, uncond: flatUncond(), processors: [rec2], stopAtEoi: true, fixedGrid: { rows: 2, cols: 2 } })));
    assert.equal(out2.usage.stopReason, 'eoi');
    assert.deepEqual(out2.tokens, [boi, ...header, V(1), V(2), eol, V(3), V(4), eoi]);
    assert.deepEqual(rec2.modes, ['text', 'grid', 'grid', 'grid', 'grid']);
    assert.deepEqual(rec2.counts.slice(1), [16, 16, 16, 16]);

    // Auto header: the sampled digits are header steps; the user sees only the allowed set.
    const rec3 = new Recorder();
    const cond3 = scriptedCond(3, [boi, 2, star, 2, img, V(1), V(2), eol, V(3), V(4), eoi]);
    await run(loopParams({ cond: cond3, uncond: flatUncond(), processors: [rec3], stopAtEoi: true, sampling: { ...loopParams({ cond }).sampling, maxNewTokens: 4 } }));
    assert.deepEqual(rec3.modes, ['text', 'header', 'header', 'header']);
    assert.deepEqual(rec3.counts.slice(1), [9, 10, 1]);
  });

  it('a RepetitionPenalty in the processors slot changes the tokens (and penalty 1 does not)', async () => {
    // two near-equal text ids: A slightly ahead. Greedy (top-k 1) repeats A; a penalty makes it alternate.
    const logits = () => { const a = new Float32Array(TOY.vocabSize).fill(-50); a[A] = 2; a[B] = 1.5; return a; };
    const sampling = { ...loopParams({ cond: flatUncond() }).sampling, cfg: 1, maxNewTokens: 4, text: { topK: 1, topP: 1, temperature: 1 } };
    const tokens = async (processors?: LogitsProcessor[]) => done(await run(loopParams({ cond: new ScriptedLm(TOY.vocabSize, logits), sampling, processors }))).tokens;
    assert.deepEqual(await tokens(), [A, A, A, A]);
    assert.deepEqual(await tokens([new RepetitionPenalty(1, TOY.vocabSize)]), [A, A, A, A]);
    // after A: 2/2 = 1 < 1.5 → B; after A,B: both seen, 1 < 0.75? no: A=1, B=0.75 → A; and so on
    assert.deepEqual(await tokens([new RepetitionPenalty(2, TOY.vocabSize)]), [A, B, A, A]);
  });
});

describe('engine errors are typed SDK errors', () => {
  it('bad sampling values are InputError(input_invalid); no candidate left is EngineError', () => {
    const isInput = (e: unknown) => e instanceof InputError && e.code === 'input_invalid';
    assert.throws(() => new TopKWarper(0), isInput);
    assert.throws(() => new TopPWarper(0), isInput);
    assert.throws(() => new TemperatureWarper(0), isInput);
    const c = new Candidates(4);
    c.count = 0;
    assert.throws(() => new CategoricalSampler(1).sample(c), (e: unknown) => e instanceof EngineError && e.code === 'engine_failed');
  });

  it('cfg ≠ 1 without an unconditional stream is InputError', () => {
    const cond = flatUncond();
    assert.throws(() => new GenerationLoop(loopParams({ cond })), (e: unknown) => e instanceof InputError && e.code === 'input_invalid');
  });
});
