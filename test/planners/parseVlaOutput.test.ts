import assert from 'node:assert/strict';
import type { OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import { parseVlaOutput } from '../../planners/parseVlaOutput.ts';
import { solidImage } from './ScriptedBackend.ts';

const grid = { rows: 1, cols: 1 };
const img = (v: number): OutputItem => ({ type: 'image', grid, codes: [v], image: solidImage(2, 2, v) });

describe('parseVlaOutput', () => {
  it('pairs each text with the image that follows, trimmed, in order', () => {
    const subgoals = parseVlaOutput([{ type: 'text', text: '  reach the cube\n' }, img(1), { type: 'text', text: 'lift it ' }, img(2)]);
    assert.deepEqual(subgoals.map((s) => s.instruction), ['reach the cube', 'lift it']);
    assert.equal(subgoals[0]!.keyframe!.data[0], 1);
    assert.equal(subgoals[1]!.keyframe!.data[0], 2);
  });

  it('ignores chain of thought and keeps trailing text without a keyframe', () => {
    const subgoals = parseVlaOutput([
      { type: 'global_cot', text: 'I should plan' },
      { type: 'text', text: 'open gripper' },
      { type: 'image_cot', text: 'the gripper opens' },
      img(3),
      { type: 'text', text: ' done. ' },
    ]);
    assert.equal(subgoals.length, 2);
    assert.equal(subgoals[0]!.instruction, 'open gripper');
    assert.deepEqual(subgoals[1], { instruction: 'done.' });
  });

  it('joins text split around CoT, drops blank text and images with no text before them', () => {
    const subgoals = parseVlaOutput([img(9), { type: 'text', text: 'push' }, { type: 'image_cot', text: 'x' }, { type: 'text', text: 'left' }, img(4), img(5), { type: 'text', text: '   ' }]);
    assert.equal(subgoals.length, 1);
    assert.equal(subgoals[0]!.instruction, 'push left');
    assert.equal(subgoals[0]!.keyframe!.data[0], 4);
  });

  it('keeps a subgoal without keyframe when the image was not decoded', () => {
    const subgoals = parseVlaOutput([{ type: 'text', text: 'go' }, { type: 'image', grid, codes: [1] }]);
    assert.deepEqual(subgoals, [{ instruction: 'go' }]);
  });
});
