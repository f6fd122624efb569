import assert from 'node:assert/strict';
import { agreementByImageKind, agreementByKind, disagreementReasons, textDiversity, x2iEditKind, type TaskExampleResult } from '../../../sim/eval/evaluateTasks.ts';
import type { TaskJudgement } from '../../../sim/eval/judgeTaskOutput.ts';
import { makeTaskExample } from '../../../sim/tasks/taskExamples.ts';

function result(instruction: string, details: TaskJudgement['details']): TaskExampleResult {
  const judgement = { wellFormed: true, images: details.length, imagesAgreeing: details.filter((d) => d.agrees).length, details };
  const usage = { promptTokens: 0, uncondPromptTokens: 0, generatedTokens: 0, forwardPasses: { cond: 0, uncond: 0 }, timings: { prefillMs: 0, decodeMs: 0, visionMs: 0, totalMs: 0 }, stopReason: 'eos' as const };
  return { seed: 0, instruction, judgement, generatedTokens: 0, latencyMs: 0, usage, output: [] };
}

describe('task evaluation breakdowns', () => {
  it('counts disagreement reasons without the quoted model text', () => {
    const report = {
      results: [
        result('a', [{ agrees: true }, { agrees: false, why: 'text is not a known action: "the robot danced"' }]),
        result('b', [{ agrees: false, why: 'text is not a known action: "jump"' }, { agrees: false, why: 'image is not the state after the action' }]),
      ],
    };
    assert.deepEqual(disagreementReasons(report), { 'text is not a known action': 2, 'image is not the state after the action': 1 });
  });

  it("names every x2i edit the simulator writes by its kind", () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 60; seed++) kinds.add(x2iEditKind(makeTaskExample('x2i', 'heldout', seed).instruction));
    assert.deepEqual([...kinds].sort(), ['add block', 'add bowl', 'move', 'recolour', 'remove']);
  });

  it('sums images and agreeing images per kind', () => {
    const report = {
      results: [
        result('remove the red block', [{ agrees: true }]),
        result('add a red bowl at row 1 column 2', [{ agrees: false, why: 'layout differs from the instruction', slotsWrong: 2 }]),
        result('remove the blue block', [{ agrees: false }]),
      ],
    };
    assert.deepEqual(agreementByKind(report, x2iEditKind), {
      remove: { examples: 2, images: 2, agreeing: 1, slotsWrong: 0, wrongAt: { source: 0, destination: 0, elsewhere: 0 } },
      'add bowl': { examples: 1, images: 1, agreeing: 0, slotsWrong: 2, wrongAt: { source: 0, destination: 0, elsewhere: 0 } },
    });
  });

  it('sums images per image kind across examples (explore: per camera command)', () => {
    const report = {
      results: [
        result('explore the table', [{ agrees: true, slotsWrong: 0, kind: 'look left' }, { agrees: false, slotsWrong: 2, kind: 'look left' }, { agrees: false, slotsWrong: 1, kind: 'look up' }]),
        result('explore the table', [{ agrees: true, slotsWrong: 0, kind: 'look up' }, { agrees: false, why: 'not a camera command' }]),
      ],
    };
    assert.deepEqual(agreementByImageKind(report), {
      'look left': { examples: 1, images: 2, agreeing: 1, slotsWrong: 2, wrongAt: { source: 0, destination: 0, elsewhere: 0 } },
      'look up': { examples: 2, images: 2, agreeing: 1, slotsWrong: 1, wrongAt: { source: 0, destination: 0, elsewhere: 0 } },
    });
  });

  it('counts, per action kind, where wrong story images differ from the state after the action', () => {
    const wrong = (kind: string, wrongAt: ('source' | 'destination' | 'elsewhere')[]) => ({ agrees: false, slotsWrong: wrongAt.length, kind, wrongAt });
    const report = {
      results: [
        result('tell a story', [{ agrees: true, kind: 'opening' }, wrong('stack', ['source', 'destination']), { agrees: true, slotsWrong: 0, kind: 'stack' }]),
        result('tell a story', [{ agrees: true, kind: 'opening' }, wrong('stack', ['destination', 'elsewhere'])]),
      ],
    };
    assert.deepEqual(agreementByImageKind(report).stack, { examples: 2, images: 3, agreeing: 1, slotsWrong: 4, wrongAt: { source: 1, destination: 2, elsewhere: 1 } });
  });

  it('counts distinct stories and distinct openings, ignoring images and surrounding spaces', () => {
    const told = (...texts: string[]) => ({ ...result('tell a story', []), output: texts.flatMap((text) => [{ type: 'text' as const, text }, { type: 'image' as const, grid: { rows: 1, cols: 1 }, codes: [0] }]) });
    const report = { results: [told('a table.', 'put a.'), told('a table. ', 'put a.'), told('a table.', 'stacked b.'), told('two bowls.', 'put a.')] };
    assert.deepEqual(textDiversity(report), { examples: 4, distinctTexts: 3, distinctFirstTexts: 2 });
  });
});
