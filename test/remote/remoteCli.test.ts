import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const emu = path.join(root, 'bin/emu.js');
const nano = path.join(root, 'models/emu-nano');

/** `emu serve` as a user starts it; resolves once it prints `listening ws://…`. */
function serve(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop(): Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [emu, 'serve', '--port', '0', '--threads', '1', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening (ws:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child, stderr: () => err, stop: async () => (child.exitCode === null && child.kill('SIGINT'), exited) });
    });
    child.on('exit', (code) => reject(new Error(`emu serve exited ${code}: ${err}`)));
  });
}

function emuSync(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(process.execPath, [emu, ...args], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
}

describe('remote inference from the command line (emu serve, --backend)', function () {
  this.timeout(180_000);
  const token = 'cli-test-token-0123456789abcdef';
  const dir = mkdtempSync(path.join(tmpdir(), 'emu-remote-cli-'));
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  let server: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    server = await serve(['--model', nano, '--token-file', tokenFile]);
  });
  after(async () => {
    const code = await server?.stop();
    assert.equal(code, 0, 'emu serve stops cleanly on SIGINT');
    assert.ok(!server.stderr().includes(token), 'the token is never logged');
  });

  it('emu generate --backend ws://… writes the same export as in-process (same tokens for the same seed)', () => {
    const args = ['generate', '--task', 't2i', '--prompt', 'a green block', '--seed', '21', '--quiet'];
    const remote = emuSync([...args, '--backend', server.url, '--token-file', tokenFile, '--out', path.join(dir, 'remote')]);
    assert.equal(remote.status, 0, remote.stderr);
    const local = emuSync([...args, '--model', nano, '--out', path.join(dir, 'local')]);
    assert.equal(local.status, 0, local.stderr);
    const read = (d: string, f: string) => readFileSync(path.join(dir, d, f));
    assert.deepEqual(read('remote', '001_00_image.png'), read('local', '001_00_image.png'), 'the same image, pixel for pixel');
    assert.ok(read('remote', 'story.pb').length > 0 && read('remote', 'index.html').length > 0);
  });

  it('without the token the client is refused with a clear, non-retried error', () => {
    const r = emuSync(['generate', '--task', 't2i', '--prompt', 'x', '--backend', server.url, '--out', path.join(dir, 'refused')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[transport_failed\].*refused the token \(HTTP 401\)/);
  });

  it('emu bridge --backend ws://… plans on the remote engine (memory transport)', () => {
    const frame = path.join(root, 'docs/img/main-job.png');
    const r = emuSync(['bridge', '--transport', 'memory', '--backend', server.url, '--frame', frame, '--goal', 'put the red block in the blue bowl'], { ...process.env, EMU_TOKEN: token });
    assert.equal(r.status, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { subgoals: unknown[] };
    assert.ok(plan.subgoals.length >= 1);
  });

  it('emu sim eval --backend ws://… gives the same results as --model on the same episodes', () => {
    const common = ['sim', 'eval', '--suite', 'spatial', '--split', 'heldout', '--episodes', '2', '--seed', '3', '--no-physics'];
    const env = { ...process.env, EMU_TOKEN: token };
    const remote = emuSync([...common, '--backend', server.url, '--out', path.join(dir, 'eval-remote')], env);
    assert.equal(remote.status, 0, remote.stderr);
    const local = emuSync([...common, '--model', nano, '--out', path.join(dir, 'eval-local')]);
    assert.equal(local.status, 0, local.stderr);
    type Episode = { id: string; success: boolean; completed: number; plans: number; subgoals: Array<{ instruction: string; ok: boolean; keyframePsnr?: number }> };
    const outcome = (d: string) =>
      (JSON.parse(readFileSync(path.join(dir, d, 'results.json'), 'utf8')) as { episodes: Episode[] }).episodes.map((e) => ({ id: e.id, success: e.success, completed: e.completed, plans: e.plans, subgoals: e.subgoals.map((s) => [s.instruction, s.ok, s.keyframePsnr]) }));
    assert.equal(outcome('eval-local').length, 2);
    assert.ok(outcome('eval-local').every((e) => e.subgoals.length > 0));
    assert.deepEqual(outcome('eval-remote'), outcome('eval-local'));
  });
});
