import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAMERA_MOVES, makeTaskExample } from '../../sim/tasks/taskExamples.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const worldsPy = readFileSync(path.join(ROOT, 'training/nano/worlds.py'), 'utf8');

/** The (text, rows, columns) tuples of worlds.py's MOVES. */
function pythonMoves(): { text: string; dr: number; dc: number }[] {
  const block = /^MOVES = \((.*)\)$/m.exec(worldsPy)?.[1] ?? '';
  return [...block.matchAll(/\('([a-z ]+)', (-?\d+), (-?\d+)\)/g)].map((m) => ({ text: m[1]!, dr: Number(m[2]), dc: Number(m[3]) }));
}

function pythonConstant(name: string): number {
  return Number(new RegExp(`^WORLD, VIEW = (\\d+), (\\d+)$`, 'm').exec(worldsPy)?.[name === 'WORLD' ? 1 : 2]);
}

describe('training/nano/worlds.py (synthetic explore walks) follows the exporter', () => {
  it('moves the camera with the same commands and shifts as sim explore', () => {
    assert.deepEqual(pythonMoves(), CAMERA_MOVES);
  });

  it('walks an 8×8 view over a 16×16 world, as the exported explore examples do', () => {
    const example = makeTaskExample('explore', 'train', 3);
    const view = example.inputs[0]!;
    assert.equal(pythonConstant('VIEW'), view.length);
    assert.equal(pythonConstant('VIEW'), view[0]!.length);
    // the exporter's origins run 0..8 in both axes: a 16-slot world
    assert.equal(pythonConstant('WORLD'), 16);
    assert.equal(example.instruction, /'instruction': '([^']+)'/.exec(worldsPy)?.[1]);
  });
});
