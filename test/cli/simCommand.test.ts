import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('Ctrl-C during sim export keeps the finished chunks: meta.json says partial with the real count, exit 130', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-simcli-'));
    const out = path.join(dir, 'export');
    const child = spawn(process.execPath, [path.join(root, 'bin/emu.js'), 'sim', 'export', '--task', 't2i', '--count', '20000', '--no-layouts', '--out', out], { cwd: root });
    try {
      let stderr = '';
      // The first progress line comes after the first chunk (200 examples): interrupt then.
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/\] [1-9]\d*\/20000/.test(stderr)) resolve();
        });
        child.once('exit', () => reject(new Error(`exited before any progress: ${stderr}`)));
      });
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 130, stderr);
      const meta = JSON.parse(readFileSync(path.join(out, 'meta.json'), 'utf8'));
      const lines = readFileSync(path.join(out, 'examples.jsonl'), 'utf8').split('\n').filter(Boolean);
      assert.equal(meta.partial, true);
      assert.equal(meta.requested, 20000);
      assert.ok(meta.count > 0 && meta.count < 20000 && meta.count % 200 === 0, `whole chunks: ${meta.count}`);
      assert.equal(lines.length, meta.count, 'meta.json counts what examples.jsonl holds');
      assert.equal(readdirSync(path.join(out, 'frames')).length, meta.count, 'one frame per t2i example, none from unfinished chunks');
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a flag the command does not know is a usage error (exit 2) naming it and pointing at --help', () => {
    const r = emu('sim', 'eval', '--bogus');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Unknown option '--bogus'.*emu sim --help/);
  });
});
