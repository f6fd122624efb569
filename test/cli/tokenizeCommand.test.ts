import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { golden, RANKS_PATH, REPO_ROOT, requireShared } from '../sdk/model/emu35Fixture.ts';

function emu(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin/emu.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('emu tokenize (CLI)', function () {
  before(function () {
    requireShared(this);
  });

  it('tokenize prints golden ids as JSON', () => {
    const c = golden().text[0]!;
    const r = emu('tokenize', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, c.text);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), c.ids);
  });

  it('tokenize --decode and --special none', () => {
    const dec = emu('tokenize', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, '--decode', '9707,11,151852');
    assert.equal(JSON.parse(dec.stdout), 'Hello,<|image start|>');
    const plain = emu('tokenize', '--model', path.join(REPO_ROOT, 'models/emu35'), '--ranks', RANKS_PATH, '--special', 'none', '<|extra_0|>');
    const ids = JSON.parse(plain.stdout) as number[];
    assert.ok(ids.length > 1 && ids.every((i) => i < 151643));
  });

  it('--help exits 0; a missing ranks file exits 1 with the error code and path', () => {
    const h = emu('tokenize', '--help');
    assert.equal(h.code, 0);
    assert.match(h.stdout, /--ranks FILE/);
    const missing = emu('tokenize', '--ranks', '/nope/emu3.tiktoken', 'x');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\[model_missing\].*\/nope\/emu3\.tiktoken/);
  });
});
