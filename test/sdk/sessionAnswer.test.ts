import assert from 'node:assert/strict';
import { lastValueFrom, take, toArray } from 'rxjs';
import type { GenerationResult, OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import type { ContextDrop } from '../../sdk/session/GenerationSession.ts';
import { collect } from '../../sdk/tasks.ts';
import { judgeTaskOutput } from '../../sim/eval/judgeTaskOutput.ts';
import { perceiveLayout } from '../../sim/perception/perceiveLayout.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { CAMERA_MOVES, EXPLORE_INSTRUCTION, EXPLORE_STEPS, makeTaskExample } from '../../sim/tasks/taskExamples.ts';

type Image = Extract<OutputItem, { type: 'image' }>;
const viewOf = (r: GenerationResult) => r.output.filter((o): o is Image => o.type === 'image');

describe("GenerationSession, 'answer' placement (emu-nano's explore: commands continue the answer)", function () {
  this.timeout(180_000);
  let backend: OnnxBackend;
  const example = makeTaskExample('explore', 'heldout', 3);
  const view = renderLayout(example.inputs[0]!);
  const sampling = { maxNewTokens: 120 };
  const moves = ['look left', 'look down', 'look right', 'look up', 'look left', 'look left', 'look down', 'look up'];

  before(async () => {
    backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
  });
  after(() => backend?.close());

  it('the manifest places explore commands in the answer and re-anchors past the views it was trained on', () => {
    assert.deepEqual(backend.manifest.tasks.explore!.session, { placement: 'answer', question: EXPLORE_INSTRUCTION, maxViews: EXPLORE_STEPS.max });
  });

  it('each step is one view, the shift its command asks for; every step after the first feeds only its EOI and command', async () => {
    const session = await backend.openSession({ task: 'explore', images: [view], seed: 1, sampling });
    let previous = example.inputs[0]!;
    let agreeing = 0;
    for (const [i, move] of moves.slice(0, EXPLORE_STEPS.max).entries()) {
      const r = await collect(session.step(move));
      const views = viewOf(r);
      assert.equal(views.length, 1, `step ${i}: one view`);
      assert.equal(r.usage.stopReason, 'eoi');
      const j = judgeTaskOutput('explore', { ...example, inputs: [previous] }, [{ type: 'text', text: move }, views[0]!]);
      agreeing += j.imagesAgreeing;
      previous = perceiveLayout(views[0]!.image!);
      if (i > 0) assert.equal(r.usage.promptTokens, 1 + backend.tokenizer.encodeOrdinary(move).length, `step ${i} feeds its EOI and command`);
    }
    assert.ok(agreeing >= EXPLORE_STEPS.max - 1, `${agreeing}/${EXPLORE_STEPS.max} views agree with their shift`);
    assert.equal(session.dropped, 0);
  });

  it('past maxViews it re-anchors on the newest view, says so, and gives the tokens of a session opened on that view', async () => {
    const drops: ContextDrop[] = [];
    const session = (await backend.openSession({ task: 'explore', images: [view], seed: 2, sampling })).onContextDrop((d) => drops.push(d));
    let last: Image | undefined;
    for (const move of moves.slice(0, EXPLORE_STEPS.max)) last = viewOf(await collect(session.step(move)))[0];
    assert.equal(drops.length, 0);
    const anchored = await collect(session.step('look up'));
    assert.equal(drops.length, 1);
    assert.equal(drops[0]!.droppedTurns, EXPLORE_STEPS.max);
    assert.equal(session.dropped, EXPLORE_STEPS.max);
    assert.ok(session.length < 200, `context after re-anchoring: ${session.length}`);
    // The same as opening a session on the newest view (its seed offset aside: step 6 samples with seed + 5; all greedy here).
    const fresh = await backend.openSession({ task: 'explore', images: [last!.image!], seed: 2, sampling });
    const direct = await collect(fresh.step('look up'));
    assert.deepEqual(viewOf(anchored)[0]!.codes, viewOf(direct)[0]!.codes);
  });

  it('kept cache and re-prefilled history give the same tokens across a re-anchor', async () => {
    const kept = await backend.openSession({ task: 'explore', images: [view], seed: 4, sampling });
    const recomputed = await backend.openSession({ task: 'explore', images: [view], seed: 4, sampling, cache: 'recompute' });
    for (const [i, move] of moves.entries()) {
      const a = await collect(kept.step(move));
      const b = await collect(recomputed.step(move));
      assert.deepEqual(a.tokens, b.tokens, `step ${i}`);
      assert.deepEqual(kept.history, recomputed.history, `history after step ${i}`);
    }
    assert.equal(kept.dropped, EXPLORE_STEPS.max);
  });

  it('free steps: the model chooses a camera move and shows it; it never ends the answer', async () => {
    const session = await backend.openSession({ task: 'explore', images: [view], seed: 5, sampling });
    const items = await lastValueFrom(session.walk({ steps: 7 }).pipe(toArray()));
    const dones = items.map((x) => x.event).filter((e) => e.type === 'done');
    assert.equal(dones.length, 7);
    const known = new Set(CAMERA_MOVES.map((m) => m.text));
    for (const d of dones) {
      const texts = d.output.filter((o) => o.type === 'text').map((o) => (o as { text: string }).text.trim());
      assert.equal(texts.length, 1);
      assert.ok(known.has(texts[0]!), `a camera move: ${texts[0]}`);
      assert.equal(d.output.filter((o) => o.type === 'image').length, 1);
      assert.ok(!d.tokens.includes(backend.manifest.vocab.ids.eos) && !d.tokens.includes(backend.manifest.vocab.ids.ess));
    }
    assert.equal(session.dropped, EXPLORE_STEPS.max, 'one re-anchor in 7 steps');
  });

  it('a cancelled step (also a re-anchoring one) leaves the session as it was; fork continues either branch exactly', async () => {
    const reference = await backend.openSession({ task: 'explore', images: [view], seed: 6, sampling });
    const session = await backend.openSession({ task: 'explore', images: [view], seed: 6, sampling });
    for (const move of moves.slice(0, EXPLORE_STEPS.max)) {
      await collect(reference.step(move));
      await collect(session.step(move));
    }
    const expected = await collect(reference.step('look down'));
    const length = session.length;
    const history = [...session.history];
    await lastValueFrom(session.step('look right').pipe(take(3), toArray()));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(session.length, length);
    assert.deepEqual(session.history, history);
    assert.equal(session.dropped, 0);
    const branch = session.fork();
    assert.deepEqual((await collect(session.step('look down'))).tokens, expected.tokens);
    assert.deepEqual((await collect(branch.step('look down'))).tokens, expected.tokens);
  });

  it("without a views limit the context fills: refused before any work, or re-anchored with contextFull: 'drop-oldest'", async () => {
    const open = (contextFull: 'error' | 'drop-oldest') => backend.openSession({ task: 'explore', images: [view], seed: 7, sampling, maxViews: 1000, contextFull });
    const strict = await open('error');
    let refused: unknown;
    for (let i = 0; i < 30 && !refused; i++) await collect(strict.step(moves[i % moves.length]!)).catch((e: unknown) => (refused = e));
    assert.equal((refused as { code?: string })?.code, 'context_overflow');
    const passes = backend.forwardPasses;
    await assert.rejects(collect(strict.step('look up')), { code: 'context_overflow' });
    assert.equal(backend.forwardPasses, passes);
    const loose = await open('drop-oldest');
    for (let i = 0; i < 14; i++) assert.equal(viewOf(await collect(loose.step(moves[i % moves.length]!))).length, 1);
    assert.ok(loose.dropped > 0 && loose.length <= loose.maxPositions);
  });
});
