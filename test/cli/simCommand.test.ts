import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const emu = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), ...args], { cwd: root, encoding: 'utf8' });

describe('emu sim (CLI)', () => {
  it('sim eval --help prints the usage and exits 0', () => {
    const r = emu('sim', 'eval', '--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /emu sim eval --planner/);
  });

  it('a bad suite, split or task is a typed error naming the choices, before any work', () => {
    const suite = emu('sim', 'eval', '--suite', 'nope', '--episodes', '1');
    assert.equal(suite.status, 1);
    assert.match(suite.stderr, /\[config_invalid\].*suite.*"spatial"\|"object"/);
    const task = emu('sim', 'export', '--task', 'dance', '--count', '1');
    assert.equal(task.status, 1);
    assert.match(task.stderr, /\[config_invalid\].*task/);
  });

  it('an --out that cannot be an output folder fails before the episodes run', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-simcli-'));
    try {
      const file = path.join(dir, 'report');
      writeFileSync(file, 'x');
      const r = emu('sim', 'eval', '--planner', 'oracle', '--suite', 'spatial', '--episodes', '50', '--out', file);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /\[input_invalid\] output '.*report' exists and is not a folder/);
      assert.doesNotMatch(r.stdout, /success/, 'no evaluation ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
