import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadManifest, resolveModelPath } from '../../../sdk/model/loadManifest.ts';
import { ConfigError, ModelError } from '../../../sdk/errors.ts';
import { EMU35_MODEL_DIR, RANKS_PATH, requireShared } from './emu35Fixture.ts';

const isErr = (cls: typeof ModelError | typeof ConfigError, code: string, re: RegExp) => (e: unknown) =>
  e instanceof cls && e.code === code && re.test(e.message);

async function manifestDir(edit: (m: Record<string, any>) => void, files: string[] = []): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'emu-manifest-'));
  const m = JSON.parse(await readFile(path.join(EMU35_MODEL_DIR, 'emu-model.json'), 'utf8'));
  edit(m);
  await writeFile(path.join(dir, 'emu-model.json'), JSON.stringify(m));
  for (const f of files) await writeFile(path.join(dir, f), '');
  return dir;
}

describe('loadManifest', function () {
  before(function () {
    requireShared(this);
  });

  it('loads the Emu3.5 manifest without weights (requireOnnx: false)', async () => {
    const { manifest, dir } = await loadManifest(EMU35_MODEL_DIR, { requireOnnx: false, ranksPath: RANKS_PATH });
    assert.equal(dir, EMU35_MODEL_DIR.replace(/\/$/, ''));
    assert.equal(manifest.vocab.size, 282926);
    assert.equal(manifest.tokenizer.specialTokens.length, 211);
    assert.equal(manifest.tokenizer.specialTokens[manifest.vocab.ids.bog - 151643], '<|extra_60|>');
    assert.equal(manifest.tokenizer.specialTokens[manifest.vocab.ids.boi - 151643], '<|image start|>');
    assert.equal(manifest.decoder.numLayers, 64);
    assert.equal(manifest.tasks.t2i?.sampling.cfg, 5);
    assert.equal(manifest.tasks.vla?.sampling.imageArea, 518400);
    assert.equal(manifest.tasks.howto?.sampling.text.topK, 200);
    assert.deepEqual(manifest.imageSizing.aspectPresets['4:3'], [55, 73]);
  });

  it('requires the ONNX files by default and names the missing path', async () => {
    await assert.rejects(loadManifest(EMU35_MODEL_DIR, { ranksPath: RANKS_PATH }), isErr(ModelError, 'model_missing', /decoder ONNX file: .*decoder\.onnx/));
    const dir = await manifestDir(() => {}, ['decoder.onnx', 'vision_encoder.onnx', 'vision_decoder.onnx']);
    await loadManifest(dir, { ranksPath: RANKS_PATH });
    const noVision = await manifestDir(() => {}, ['decoder.onnx', 'vision_encoder.onnx']);
    await assert.rejects(loadManifest(noVision, { ranksPath: RANKS_PATH }), isErr(ModelError, 'model_missing', /vision_decoder\.onnx/));
  });

  it('missing ranks file → model_missing naming it', async () => {
    await assert.rejects(loadManifest(EMU35_MODEL_DIR, { requireOnnx: false }), isErr(ModelError, 'model_missing', /emu35\/emu3\.tiktoken/));
  });

  it('missing manifest → model_missing; bad JSON → ConfigError', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'emu-manifest-'));
    await assert.rejects(loadManifest(empty), isErr(ModelError, 'model_missing', /emu-model\.json/));
    await writeFile(path.join(empty, 'emu-model.json'), '{ "name": ');
    await assert.rejects(loadManifest(empty), isErr(ConfigError, 'config_invalid', /not valid JSON/));
  });

  it('schema violations → ConfigError listing the path', async () => {
    const dir = await manifestDir((m) => {
      m.decoder.numLayers = -1;
      delete m.vocab.ids.eol;
    });
    await assert.rejects(loadManifest(dir, { requireOnnx: false, ranksPath: RANKS_PATH }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /decoder\.numLayers/);
      assert.match(e.message, /vocab\.ids\.eol/);
      return true;
    });
  });

  it('mismatched vocab / ids / ranks → model_mismatch with expected vs actual', async () => {
    const cases: Array<[(m: Record<string, any>) => void, RegExp]> = [
      [(m) => (m.vocab.size = 282925), /vocab\.size 282925 != visualOffset 151854 \+ codebookSize 131072/],
      [(m) => (m.vocab.ids.eos = 99), /vocab\.ids\.eos = 99 is not a special-token id/],
      [(m) => (m.tokenizer.specialStart = 151000), /specialStart 151000 overlaps the 151643 BPE ranks/],
      [(m) => m.tokenizer.specialTokens.push('<|one_too_many|>'), /past visualOffset 151854/],
    ];
    for (const [edit, re] of cases) {
      const dir = await manifestDir(edit);
      await assert.rejects(loadManifest(dir, { requireOnnx: false, ranksPath: RANKS_PATH }), isErr(ModelError, 'model_mismatch', re));
    }
  });

  it('resolveModelPath resolves relative paths inside the folder and refuses absolute ones', () => {
    assert.equal(resolveModelPath('/m', 'a/b.onnx'), '/m/a/b.onnx');
    assert.throws(() => resolveModelPath('/m', '/abs/x'), { code: 'config_invalid' });
  });
});

describe('resolveModelPath (manifest paths stay inside the model folder)', () => {
  it('accepts folder-relative files, refuses absolute paths and .. escapes, without reading them', async () => {
    const { resolveModelPath, loadManifest } = await import('../../../sdk/model/loadManifest.ts');
    const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = (await import('node:path')).default;
    const dir = mkdtempSync(path.join(tmpdir(), 'emu-paths-'));
    assert.equal(resolveModelPath(dir, 'weights/decoder.onnx'), path.join(dir, 'weights/decoder.onnx'));
    for (const bad of ['../../../../etc/shadow', '/etc/passwd', 'a/../../x', '.']) {
      assert.throws(() => resolveModelPath(dir, bad), { code: 'config_invalid', message: /not a file inside the model folder/ }, bad);
    }
    const nano = JSON.parse(readFileSync(path.resolve('models/emu-nano/emu-model.json'), 'utf8'));
    nano.tokenizer.ranks = '../../../../etc/hostname';
    writeFileSync(path.join(dir, 'emu-model.json'), JSON.stringify(nano));
    const first = readFileSync('/etc/hostname', 'utf8').split('\n')[0]!;
    await assert.rejects(loadManifest(dir), (e: Error & { code?: string }) => e.code === 'config_invalid' && (!first || !e.message.includes(first)));
  });
});
