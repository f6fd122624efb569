import assert from 'node:assert/strict';
import { lastValueFrom, take, toArray } from 'rxjs';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { collect } from '../../sdk/tasks.ts';

describe('GenerationSession, USER-turn placement (the Emu3.5 template), on emu-nano', function () {
  this.timeout(120_000);
  let backend: OnnxBackend;
  const view = createRgbImage(128, 128, [110, 120, 130]);
  const sampling = { maxNewTokens: 120 };
  // emu-nano's explore places commands in its answer; these tests run the other placement on the same weights
  const user = { placement: 'user' } as const;
  const commands = ['turn left', 'walk forward', 'turn right'];

  before(async () => {
    backend = await OnnxBackend.load(DEFAULT_MODEL_DIR, { threads: 1 });
  });
  after(() => backend?.close());

  it('the first step is exactly the single-turn request (same tokens)', async () => {
    const session = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 9, sampling });
    const step = await collect(session.step('turn left'));
    const single = await collect(backend.generate({ task: 'explore', prompt: 'turn left', images: [view], seed: 9, sampling }));
    assert.deepEqual(step.tokens, single.tokens);
    assert.equal(session.turns, 1);
  });

  it('kept cache and re-prefilled history give the same tokens step after step; the kept cache feeds only the new turn', async () => {
    const kept = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 4, sampling });
    const recomputed = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 4, sampling, cache: 'recompute' });
    for (const [i, command] of commands.entries()) {
      const a = await collect(kept.step(command));
      const b = await collect(recomputed.step(command));
      assert.deepEqual(a.tokens, b.tokens, `step ${i}`);
      assert.deepEqual(kept.history, recomputed.history);
      if (i > 0) assert.ok(a.usage.promptTokens < 20 && b.usage.promptTokens > kept.length / 2, `step ${i}: kept feeds ${a.usage.promptTokens} prompt tokens, recompute ${b.usage.promptTokens}`);
    }
    assert.equal(kept.turns, 3);
    assert.ok(kept.length > 300);
  });

  it('a cancelled step leaves the session as it was: the next step gives what it would have', async () => {
    const reference = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 5, sampling });
    await collect(reference.step(commands[0]!));
    const expected = await collect(reference.step(commands[1]!));

    const session = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 5, sampling });
    await collect(session.step(commands[0]!));
    const length = session.length;
    const history = [...session.history];
    const partial = await lastValueFrom(session.step('run far away').pipe(take(3), toArray()));
    assert.equal(partial.length, 3);
    // Busy until the loop has really stopped; then rolled back.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(session.length, length);
    assert.deepEqual(session.history, history);
    assert.equal(session.turns, 1);
    const again = await collect(session.step(commands[1]!));
    assert.deepEqual(again.tokens, expected.tokens);

    const controller = new AbortController();
    const aborted = collect(session.step('stop', { signal: controller.signal }));
    controller.abort();
    await assert.rejects(aborted, { code: 'aborted' });
    assert.equal(session.turns, 2);
  });

  it('fork branches the context: each branch continues as a session that took that path', async () => {
    const session = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 6, sampling });
    await collect(session.step(commands[0]!));
    const branch = session.fork();
    const left = await collect(branch.step('turn left again'));
    const right = await collect(session.step('turn right'));
    const straight = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 6, sampling });
    await collect(straight.step(commands[0]!));
    assert.deepEqual((await collect(straight.step('turn left again'))).tokens, left.tokens, 'the branch equals a session that went that way');
    assert.notDeepEqual(left.tokens, right.tokens);
    assert.equal(branch.turns, 2);
    assert.equal(session.turns, 2);
  });

  it("contextFull: 'drop-oldest' keeps walking past the context: system prompt + newest turns re-prefilled, said so, same tokens as recomputing", async () => {
    const drops: unknown[] = [];
    const kept = (await backend.openSession({ ...user, task: 'explore', images: [view], seed: 8, sampling, contextFull: 'drop-oldest' })).onContextDrop((d) => drops.push(d));
    const recomputed = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 8, sampling, contextFull: 'drop-oldest', cache: 'recompute' });
    const system = [...kept.history];
    for (let i = 0; i < 10; i++) {
      const a = await collect(kept.step(`step ${i}`));
      const b = await collect(recomputed.step(`step ${i}`));
      assert.deepEqual(a.tokens, b.tokens, `step ${i}`);
      assert.ok(kept.length <= kept.maxPositions);
      if (i === 0) system.push(...kept.history.slice(0, 20));
    }
    assert.ok(kept.dropped > 0 && drops.length > 0, 'turns were dropped');
    assert.equal(kept.turns, 10);
    const first = drops[0] as { droppedTurns: number; keptTurns: number; from: number; to: number };
    assert.ok(first.droppedTurns >= 1 && first.keptTurns >= 1 && first.to < first.from);
    assert.deepEqual(kept.history.slice(0, 10), system.slice(0, 10), 'the system prompt stays');
  });

  it('walk: the model moves on its own for N steps; a command interjected between steps is used; the walk equals those steps taken one by one', async () => {
    const walker = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 10, sampling });
    await collect(walker.step('look around'));
    const queue = [undefined, 'turn left', undefined];
    const items = await lastValueFrom(walker.walk({ steps: 3, interject: () => queue.shift() }).pipe(toArray()));
    const dones = items.filter((x) => x.event.type === 'done');
    assert.deepEqual(dones.map((x) => [x.step, x.command]), [[0, ''], [1, 'turn left'], [2, '']]);
    assert.equal(walker.turns, 4);
    const byHand = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 10, sampling });
    await collect(byHand.step('look around'));
    for (const command of ['', 'turn left', '']) await collect(byHand.step(command));
    assert.deepEqual(walker.history, byHand.history);
  });

  it('a step that cannot fit the context is refused before any work; one step at a time; closed is closed', async () => {
    const session = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 7, sampling: { maxNewTokens: 400 } });
    let refused: unknown;
    for (let i = 0; i < 10 && !refused; i++) {
      await collect(session.step(`step ${i}`)).catch((err: unknown) => (refused = err));
    }
    assert.ok(refused, 'the context filled up');
    const passes = backend.forwardPasses;
    const length = session.length;
    await assert.rejects(collect(session.step('one more')), { code: 'context_overflow' });
    assert.equal(backend.forwardPasses, passes, 'no model work for a refused step');
    assert.equal(session.length, length);

    const other = await backend.openSession({ ...user, task: 'explore', images: [view], seed: 7, sampling });
    const running = collect(other.step('a'));
    await assert.rejects(collect(other.step('b')), /still running/);
    await running;
    other.close();
    await assert.rejects(collect(other.step('c')), /closed/);
  });
});
