import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runClosedLoop } from '../../examples/closedLoop.ts';
import { writeClosedLoopReport } from '../../examples/closedLoopReport.ts';
import { decodeImage } from '../../sdk/image/codec.ts';
import { buildTinyModel } from '../kit/index.ts';

describe('main job: closed loop through the in-memory bridge', function () {
  this.timeout(120_000);

  it('reports a failed episode when the model plans nonsense, after the bounded re-plans', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'closed-loop-'));
    const { manifest } = await buildTinyModel(path.join(dir, 'model'), { seed: 5 });
    // Bias towards ending the turn quickly so each plan is one short garbage subgoal.
    const { ess } = manifest.vocab.ids;
    await buildTinyModel(path.join(dir, 'model'), { seed: 5, logitBias: { [ess]: 4 }, tasks: { vla: { sampling: { maxNewTokens: 24 } } } });
    const quiet = { info() {}, warn() {} };
    const result = await runClosedLoop({ modelDir: path.join(dir, 'model'), suite: 'object', split: 'heldout', seed: 0, replan: { maxReplans: 1 }, log: quiet });
    assert.equal(result.success, false);
    assert.equal(result.plans, 2, 'one plan plus one re-plan');
    assert.ok(result.steps.length >= 1);
    for (const step of result.steps) assert.equal(step.ok, false);
    assert.match(result.error ?? '', /re-plan budget/);
    assert.deepEqual(result.finalFrame.data, result.initialFrame.data, 'nothing moved');

    const html = await writeClosedLoopReport(result, path.join(dir, 'report'));
    const page = readFileSync(html, 'utf8');
    assert.match(page, /FAILED/);
    assert.ok(page.includes(result.episode.goal));
    const pngs = readdirSync(path.join(dir, 'report')).filter((f) => f.endsWith('.png'));
    assert.ok(pngs.includes('initial.png') && pngs.includes('final.png'));
    const initial = await decodeImage(readFileSync(path.join(dir, 'report', 'initial.png')));
    assert.deepEqual([initial.width, initial.height], [128, 128]);
  });

  it('completes a held-out long-horizon episode on the embedded emu-nano (the main job)', async () => {
    const quiet = { info() {}, warn() {} };
    const result = await runClosedLoop({ suite: 'long', split: 'heldout', seed: 1, log: quiet });
    assert.equal(result.success, true, JSON.stringify(result.steps.map((s) => [s.instruction, s.ok, s.reason])));
    assert.ok(result.steps.length >= 2, 'a multi-step chain');
    assert.ok(result.steps.every((s) => s.ok));
    const agreements = result.steps.map((s) => s.layoutAgreement ?? 0);
    assert.ok(Math.min(...agreements) >= 0.9, `keyframes agree with the frames reached: ${agreements}`);
    assert.notDeepEqual(result.finalFrame.data, result.initialFrame.data);
  });
});
