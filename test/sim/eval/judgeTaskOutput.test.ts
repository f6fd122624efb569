import assert from 'node:assert/strict';
import type { OutputItem } from '../../../sdk/generation/GenerationEvent.ts';
import { judgeTaskOutput } from '../../../sim/eval/judgeTaskOutput.ts';
import { GENERATIVE_TASKS } from '../../../sim/eval/evaluateTasks.ts';
import { renderLayout } from '../../../sim/render/renderLayout.ts';
import { CAMERA_MOVES, makeStoryDrill, makeTaskExample, type TaskExample } from '../../../sim/tasks/taskExamples.ts';
import { emptyLayout } from '../../../sim/world/Layout.ts';

/** The example's own target output, as the SDK would return it. */
function groundTruth(example: TaskExample): OutputItem[] {
  return example.output.map((o) =>
    o.type === 'text' ? { type: 'text', text: o.text } : { type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(o.layout) },
  );
}

describe('judgeTaskOutput', () => {
  for (const task of GENERATIVE_TASKS) {
    it(`accepts the simulator's own ${task} outputs as well formed and fully agreeing`, () => {
      for (let seed = 0; seed < 8; seed++) {
        const example = makeTaskExample(task, 'heldout', seed);
        const j = judgeTaskOutput(task, example, groundTruth(example));
        assert.ok(j.wellFormed, `${task} seed ${seed} well formed`);
        assert.ok(j.images > 0);
        assert.equal(j.imagesAgreeing, j.images, `${task} seed ${seed}: ${JSON.stringify(j.details)}`);
      }
    });

    it(`rejects ${task} outputs whose last image is an empty table`, () => {
      const example = makeTaskExample(task, 'heldout', 3);
      const output = groundTruth(example);
      const last = output.findLastIndex((o) => o.type === 'image');
      output[last] = { type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(emptyLayout()) };
      const j = judgeTaskOutput(task, example, output);
      assert.equal(j.details.at(-1)!.agrees, false);
      assert.ok(j.imagesAgreeing < j.images);
    });
  }

  it('marks interleaved outputs that do not alternate text and image as malformed', () => {
    const example = makeTaskExample('howto', 'heldout', 1);
    const output = groundTruth(example).filter((o) => o.type === 'image');
    const j = judgeTaskOutput('howto', example, output);
    assert.equal(j.wellFormed, false);
    assert.equal(j.imagesAgreeing, 0);
  });

  it('counts the slots a wrong t2i image gets wrong', () => {
    const example = makeTaskExample('t2i', 'heldout', 5);
    const target = example.output[0]!;
    assert.equal(target.type, 'image');
    const occupied = target.type === 'image' ? target.layout.flat().filter((cell) => cell !== null).length : 0;
    const empty: OutputItem[] = [{ type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(emptyLayout()) }];
    assert.ok(occupied > 0);
    assert.deepEqual(judgeTaskOutput('t2i', example, empty).details, [{ agrees: false, why: 'layout differs from the instruction', slotsWrong: occupied }]);
    assert.equal(judgeTaskOutput('t2i', example, groundTruth(example)).details[0]!.slotsWrong, 0);
  });

  it('requires exactly one image for t2i', () => {
    const example = makeTaskExample('t2i', 'heldout', 2);
    const output = [...groundTruth(example), ...groundTruth(example)];
    assert.equal(judgeTaskOutput('t2i', example, output).wellFormed, false);
  });

  it('flags a story step whose text is not an action', () => {
    const example = makeTaskExample('story', 'heldout', 4);
    const output = groundTruth(example);
    output[2] = { type: 'text', text: 'the robot danced.' };
    const j = judgeTaskOutput('story', example, output);
    assert.equal(j.details[1]!.agrees, false);
    assert.match(j.details[1]!.why ?? '', /not a known action/);
  });

  it('checks the slot a story narration names against where its action lands, and accepts narrations that name none', () => {
    const example = makeStoryDrill(4, ['place', 'stack', 'move'], true);
    const output = groundTruth(example);
    const narration = output[2]!.type === 'text' ? output[2]!.text : '';
    const named = /to row (\d+) column (\d+)\.$/.exec(narration);
    assert.ok(named, narration);
    const [r, c] = [Number(named[1]), Number(named[2])];
    output[2] = { type: 'text', text: narration.replace(/row \d+ column \d+/, `row ${(r + 1) % 8} column ${c}`) };
    const misnamed = judgeTaskOutput('story', example, output).details[1]!;
    assert.equal(misnamed.agrees, false);
    assert.equal(misnamed.why, `the text names row ${(r + 1) % 8} column ${c}, but the action lands on row ${r} column ${c}`);
    output[2] = { type: 'text', text: narration.replace(/, to row \d+ column \d+/, '') };
    assert.equal(judgeTaskOutput('story', example, output).details[1]!.agrees, true);
  });

  it("names a story image's action and says where it differs from the state after it", () => {
    const example = makeTaskExample('story', 'heldout', 6);
    const output = groundTruth(example);
    const secondImage = output.findIndex((o, i) => o.type === 'image' && i > 1);
    output[secondImage] = output[secondImage - 2]!; // the previous image again: the block never moved
    const verdict = judgeTaskOutput('story', example, output).details[1]!;
    assert.equal(verdict.agrees, false);
    assert.equal(verdict.why, 'image is not the state after the action');
    assert.match(verdict.kind ?? '', /^(place|stack|move (left of|right of|above|below) (block|bowl))$/);
    assert.deepEqual(verdict.wrongAt, ['source', 'destination']);
    assert.equal(verdict.slotsWrong, 2);
    assert.deepEqual(judgeTaskOutput('story', example, groundTruth(example)).details.map((d) => d.kind !== undefined), groundTruth(example).filter((o) => o.type === 'image').map(() => true));
  });

  it('counts the in-view slots an explore image gets wrong, and names its camera command', () => {
    const example = makeTaskExample('explore', 'heldout', 2);
    const output = groundTruth(example);
    const first = example.output[0]!;
    assert.equal(first.type, 'text');
    const before = example.inputs[0]!;
    const command = first.type === 'text' ? first.text : '';
    const { dr, dc } = CAMERA_MOVES.find((m) => m.text === command)!;
    let stayingOccupied = 0;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) if (before[r + dr]?.[c + dc] !== undefined && before[r + dr]![c + dc] !== null) stayingOccupied++;
    output[1] = { type: 'image', grid: { rows: 8, cols: 8 }, codes: [], image: renderLayout(emptyLayout()) };
    const wrong = judgeTaskOutput('explore', example, output).details[0]!;
    assert.ok(stayingOccupied > 0);
    assert.deepEqual(wrong, { agrees: false, why: 'the overlapping view does not match the shift', slotsWrong: stayingOccupied, kind: command });
    assert.deepEqual(judgeTaskOutput('explore', example, groundTruth(example)).details[0], { agrees: true, slotsWrong: 0, kind: command });
  });
});
