import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { golden, RANKS_PATH, REPO_ROOT, requireShared } from '../sdk/model/emu35Fixture.ts';

function emu(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/emu.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('emu prompt (CLI)', function () {
  before(function () {
    requireShared(this);
  });

  it('prompt prints golden cond/uncond for vla with a code grid file', async () => {
    const c = golden().prompts.find((p) => p.task === 'vla')!;
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'emu-cli-')), 'grid.json');
    await writeFile(file, JSON.stringify(c.images[0]));
    const r = emu('prompt', '--task', 'vla', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, '--question', c.question, '--image-codes', file);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { cond: c.cond_ids, uncond: c.uncond_ids });
  });

  it('prompt --image-grid counts H·(W+1)+7 image tokens', () => {
    const base = JSON.parse(emu('prompt', '--task', 'story', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, '--question', 'q').stdout);
    const withImg = JSON.parse(emu('prompt', '--task', 'story', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, '--question', 'q', '--image-grid', '10x12').stdout);
    assert.equal(withImg.cond.length - base.cond.length, 10 * 13 + 7);
  });

  it('--help exits 0; an unknown task exits 1 with unknown_task', () => {
    const h = emu('prompt', '--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--task TASK/);
    const bad = emu('prompt', '--task', 'dance', '--question', 'q', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\[unknown_task\].*dance/);
  });
});

describe('emu prompt / tokenize: long text from a file or stdin (emu-nano)', () => {
  const run = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/emu.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', ...(input !== undefined ? { input } : {}), maxBuffer: 64 << 20 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('--question-file FILE and - (stdin) give what --question gives', async () => {
    const q = 'put the red block in the blue bowl';
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'emu-cli-')), 'q.txt');
    await writeFile(file, `${q}\n`);
    const inline = run(['prompt', '--task', 'vla', '--question', q, '--image-grid', '8x8']);
    assert.equal(inline.code, 0, inline.stderr);
    assert.equal(run(['prompt', '--task', 'vla', '--question-file', file, '--image-grid', '8x8']).stdout, inline.stdout);
    assert.equal(run(['prompt', '--task', 'vla', '--question-file', '-', '--image-grid', '8x8'], q).stdout, inline.stdout);
    const both = run(['prompt', '--task', 'vla', '--question', q, '--question-file', file]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /\[input_invalid\] pass --question or --question-file, not both/);
  });

  it('tokenize --text-file - reads stdin', () => {
    const inline = run(['tokenize', 'a red block']);
    assert.equal(inline.code, 0, inline.stderr);
    assert.equal(run(['tokenize', '--text-file', '-'], 'a red block\n').stdout, inline.stdout);
    assert.equal(run(['tokenize', '-'], 'a red block').stdout, inline.stdout);
  });

  it('a 2 MB question is context_overflow, and a grid too big to allocate is a typed error', () => {
    const huge = run(['prompt', '--task', 'vla', '--question-file', '-'], 'word '.repeat(400_000));
    assert.equal(huge.code, 1);
    assert.match(huge.stderr, /\[context_overflow\].*1024 positions/);
    assert.equal(huge.stdout, '');
    const grid = run(['prompt', '--task', 'vla', '--question', 'q', '--image-grid', '100000x100000']);
    assert.equal(grid.code, 1);
    assert.match(grid.stderr, /\[config_invalid\] Invalid --image-grid '100000x100000'/);
    const tooBig = run(['prompt', '--task', 'vla', '--question', 'q', '--image-grid', '99x99']);
    assert.match(tooBig.stderr, /\[context_overflow\].*9907 tokens/);
  });
});
