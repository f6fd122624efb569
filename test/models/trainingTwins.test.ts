import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_TABLES_FILE, sharedTables } from '../../training/sharedTables.ts';
import { makeTaskExample } from '../../sim/tasks/taskExamples.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { MODEL, ROOT as PATHS_ROOT, TRAINING_LAYOUT, repoPath } from '../../training/paths.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('training/nano/shared_tables.json (the simulator constants and file layout the Python toolchain reads)', () => {
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

  it('gives training/nano/paths.py the layout training/paths.ts defines, resolved from the repository root whatever the cwd', () => {
    assert.equal(PATHS_ROOT, ROOT);
    assert.equal(MODEL, DEFAULT_MODEL_DIR);
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(ROOT)})`,
      'from training.nano import paths',
      "print(json.dumps({'root': paths.ROOT, 'layout': {k: getattr(paths, k.upper()) for k in paths.LAYOUT}}))",
    ].join('\n');
    const py = JSON.parse(execFileSync('python3', ['-c', script], { cwd: tmpdir(), encoding: 'utf8' })) as { root: string; layout: Record<string, string> };
    assert.equal(py.root, ROOT);
    assert.deepEqual(py.layout, Object.fromEntries(Object.entries(TRAINING_LAYOUT).map(([k, rel]) => [k, repoPath(rel)])));
  });
});

describe('training/nano/*.py (the Python toolchain)', () => {
  it('compiles, and takes every path default from paths.py rather than a cwd-relative literal', () => {
    // Python's own parser (ast), not a regex: every add_argument(..., default=<string with a />) is reported.
    const script = String.raw`
import ast, glob, json, os, sys
bad = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], 'training', 'nano', '*.py'))):
    src = open(f).read()
    compile(src, f, 'exec')
    for node in ast.walk(ast.parse(src, f)):
        if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'add_argument':
            for kw in node.keywords:
                if kw.arg == 'default' and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str) and '/' in kw.value.value:
                    bad.append(f'{os.path.basename(f)}:{node.lineno} {kw.value.value}')
print(json.dumps(bad))
`;
    assert.deepEqual(JSON.parse(execFileSync('python3', ['-c', script, ROOT], { encoding: 'utf8' })), []);
  });
});
