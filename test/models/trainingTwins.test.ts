import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_TABLES_FILE, sharedTables } from '../../training/sharedTables.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('training/nano/shared_tables.json (the simulator constants the Python toolchain reads)', () => {
  it('is exactly what training/sharedTables.ts generates from the TypeScript now (regenerate with npx tsx training/sharedTables.ts)', () => {
    assert.equal(readFileSync(SHARED_TABLES_FILE, 'utf8'), sharedTables());
  });

  it('agrees with what the exporter actually writes for explore', () => {
    const tables = JSON.parse(sharedTables()).explore;
    const example = makeTaskExample('explore', 'train', 3);
    assert.equal(example.inputs[0]!.length, tables.view);
    assert.equal(example.inputs[0]![0]!.length, tables.view);
    assert.equal(example.instruction, tables.instruction);
    const texts = example.output.filter((o) => o.type === 'text').map((o) => (o as { text: string }).text);
    assert.ok(texts.every((t) => tables.moves.some((m: [string]) => m[0] === t)));
  });

  it('worlds.py takes its constants from the table and defines none itself', () => {
    const py = readFileSync(path.join(ROOT, 'training/nano/worlds.py'), 'utf8');
    assert.doesNotMatch(py, /'look (left|right|up|down)'/, 'no move literals in Python');
    assert.doesNotMatch(py, /'explore the table'/);
    const start = py.indexOf('# The simulator');
    const prologue = py.slice(start, py.indexOf('\n', py.indexOf('MOVES = tuple')) + 1);
    const out = execFileSync('python3', ['-c', `import json, os\n__file__ = ${JSON.stringify(path.join(ROOT, 'training/nano/worlds.py'))}\n${prologue}\nprint(json.dumps([WORLD, VIEW, EXPLORE_INSTRUCTION, MOVES]))`], { encoding: 'utf8' });
    const tables = JSON.parse(sharedTables()).explore;
    assert.deepEqual(JSON.parse(out), [tables.world, tables.view, tables.instruction, tables.moves]);
  });
});
