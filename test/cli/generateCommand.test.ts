import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, InputError } from '../../sdk/errors.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { run } from '../../bin/cli/generateCommand.ts';
import { buildTinyModel, emu35SpecialIds, type TinyModel } from '../kit/index.ts';

describe('emu generate', () => {
  let dir: string;
  let model: TinyModel;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu-cli-'));
    model = await buildTinyModel(path.join(dir, 'm'), { seed: 2, logitBias: { [emu35SpecialIds(280).boi]: 8 } });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const capture = async (argv: string[]) => {
    const log = console.log;
    const lines: string[] = [];
    console.log = (s: unknown) => lines.push(String(s));
    try {
      return { code: await run(argv), lines };
    } finally {
      console.log = log;
    }
  };

  it('without --model runs the shipped emu-nano (a fresh clone has no other weights)', async () => {
    const out = path.join(dir, 'default-model');
    const { code, lines } = await capture(['--task', 't2i', '--prompt', 'a red block in the blue bowl', '--out', out, '--quiet']);
    assert.equal(code, 0);
    assert.equal(lines.at(-1), out);
    assert.ok((await readdir(out)).some((f) => f.endsWith('.png')), 'an image was written');
  });

  it('the default model folder is emu-nano and every file in it is tracked (so a fresh clone has it)', function () {
    assert.equal(path.basename(DEFAULT_MODEL_DIR), 'emu-nano');
    const git = (...args: string[]) => spawnSync('git', args, { cwd: DEFAULT_MODEL_DIR, encoding: 'utf8' });
    if (git('rev-parse', '--is-inside-work-tree').stdout.trim() !== 'true') this.skip();
    const ignored = git('ls-files', '--others', '--exclude-standard', '--ignored', '--directory', '.').stdout.trim();
    const untracked = git('ls-files', '--others', '--exclude-standard', '.').stdout.trim();
    assert.equal([ignored, untracked].filter(Boolean).join('\n'), '', 'files the default run may read but a clone lacks');
    assert.ok(git('ls-files', '--error-unmatch', 'emu-model.json').status === 0, 'emu-model.json is tracked');
  });

  it('runs t2i on a model folder, writes the export folder and prints its path', async () => {
    const out = path.join(dir, 'out');
    const { code, lines } = await capture(['--task', 't2i', '--model', model.dir, '--prompt', 'a cube', '--seed', '3', '--out', out, '--quiet']);
    assert.equal(code, 0);
    assert.equal(lines.at(-1), path.resolve(out));
    const files = await readdir(out);
    assert.ok(files.some((f) => f.endsWith('_image.png')), files.join(','));
    assert.ok(files.includes('index.html') && files.includes('story.pb'));
  });

  it('an undecodable --image is a typed image error', async () => {
    const bad = path.join(dir, 'bad.png');
    await writeFile(bad, 'this is not a png');
    await assert.rejects(run(['--task', 'x2i', '--model', model.dir, '--prompt', 'x', '--image', bad, '--quiet']), (e: unknown) => e instanceof InputError && e.code === 'image_invalid' && /bad\.png/.test(e.message));
  });

  it('a bad --device is a typed error naming the choices, before loading anything', async () => {
    await assert.rejects(run(['--task', 't2i', '--prompt', 'x', '--device', 'tpu']), (e: unknown) => e instanceof InputError && e.code === 'input_invalid' && /cpu, cuda, webgpu.*'tpu'/.test(e.message));
  });

  it('a bad --grid or --cfg is a typed error from the request schema, before the model loads', async () => {
    const noModel = path.join(dir, 'no-such-model');
    for (const [flag, value, what] of [['--grid', '0x5', /grid/], ['--grid', '100x3', /grid/], ['--cfg', 'abc', /cfg/]] as const) {
      await assert.rejects(run(['--task', 't2i', '--model', noModel, '--prompt', 'x', flag, value]), (e: unknown) => e instanceof ConfigError && what.test(e.message), `${flag} ${value}`);
    }
  });

  it('an unknown task is rejected before loading anything', async () => {
    await assert.rejects(run(['--task', 'dance', '--prompt', 'x']), (e: unknown) => e instanceof InputError && e.code === 'unknown_task');
  });

  it('a generation cut off inside an image says truncated and exits 3; --keep-partial keeps it, marked', async () => {
    const out = path.join(dir, 'cut');
    const stderr: string[] = [];
    const err = console.error;
    console.error = (s: unknown) => stderr.push(String(s));
    try {
      const cut = await capture(['--task', 't2i', '--model', model.dir, '--prompt', 'a red block', '--max-new-tokens', '12', '--out', out, '--quiet']);
      assert.equal(cut.code, 3);
      assert.match(stderr.join('\n'), /\[truncated\] the generation was cut off by the token budget after \d+ tokens inside image 1 \(\d+ of \d+ rows drawn\), which is missing from the output \(stop reason max_tokens\); nothing was written/);
      await assert.rejects(readdir(out), 'no folder that looks like a result');
      const kept = await capture(['--task', 't2i', '--model', model.dir, '--prompt', 'a red block', '--max-new-tokens', '12', '--out', out, '--quiet', '--keep-partial']);
      assert.equal(kept.code, 0);
      assert.match(await readFile(path.join(out, 'TRUNCATED.txt'), 'utf8'), /stop reason max_tokens/);
      assert.match(await readFile(path.join(out, 'index.html'), 'utf8'), /class="note"><b>TRUNCATED\.txt<\/b>: the generation was cut off/, 'the page says it is partial');
    } finally {
      console.error = err;
    }
  });

  it('takes long prompts from --prompt-file or stdin, and refuses a long command line before onnxruntime loads', async () => {
    const promptFile = path.join(dir, 'prompt.txt');
    await writeFile(promptFile, 'a red block in the blue bowl\n');
    const viaFile = await capture(['--task', 't2i', '--model', model.dir, '--prompt-file', promptFile, '--out', path.join(dir, 'pf'), '--quiet', '--keep-partial']);
    assert.equal(viaFile.code, 0);
    assert.match(await readFile(path.join(dir, 'pf', 'index.html'), 'utf8'), /a red block in the blue bowl/);
    const emu = path.resolve('bin/emu.js');
    const long = 'a '.repeat(15_000);
    const r = spawnSync(process.execPath, [emu, 'generate', '--task', 't2i', '--model', model.dir, '--prompt', long], { encoding: 'utf8' });
    assert.equal(r.signal, null, 'no crash');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\[input_invalid\] the command line is 29\.\d KB, over the 16 KB .*--prompt-file/);
    const stdin = spawnSync(process.execPath, [emu, 'generate', '--task', 't2i', '--model', model.dir, '--prompt-file', '-', '--max-new-tokens', '4', '--quiet', '--keep-partial', '--out', path.join(dir, 'stdin')], { encoding: 'utf8', input: long });
    assert.equal(stdin.signal, null);
    assert.match(stdin.stderr, /\[context_overflow\]/, 'a 30 KB prompt from stdin reaches the typed context check');
  });
});
