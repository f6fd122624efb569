import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../sdk/errors.ts';
import { ModelManifestSchema } from '../../sdk/model/ModelManifest.ts';
import { buildTinyModel, DEFAULT_EMU35_RANKS } from './buildTinyModel.ts';
import { decode, emptyCache, openSession, tempDir } from './testUtils.ts';

describe('buildTinyModel', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('writes a folder whose emu-model.json validates and names files that exist', async () => {
    const { manifest } = await buildTinyModel(dir);
    const onDisk = ModelManifestSchema.parse(JSON.parse(await readFile(path.join(dir, 'emu-model.json'), 'utf8')));
    assert.deepEqual(onDisk, manifest);
    for (const file of [manifest.tokenizer.ranks, manifest.decoder.file, manifest.vision.encoder, manifest.vision.decoder]) {
      assert.ok(existsSync(path.join(dir, file)), file);
    }
  });

  it('lays out the tiny vocabulary like Emu3.5: ranks, 211 specials, then the codebook', async () => {
    const { manifest } = await buildTinyModel(dir, { codebookSize: 27 });
    const ranks = (await readFile(path.join(dir, manifest.tokenizer.ranks), 'utf8')).trim().split('\n');
    const start = manifest.tokenizer.specialStart!;
    assert.equal(start, ranks.length);
    assert.equal(Buffer.from(ranks[48]!.split(' ')[0]!, 'base64').toString(), '0');
    const { ids, visualOffset, size, codebookSize } = manifest.vocab;
    assert.equal(codebookSize, 27);
    assert.equal(visualOffset, start + 211);
    assert.equal(size, visualOffset + 27);
    const name = (id: number) => manifest.tokenizer.specialTokens[id - start];
    assert.equal(name(ids.pad), '<|endoftext|>');
    assert.equal(name(ids.bos), '<|extra_203|>');
    assert.equal(name(ids.eos), '<|extra_204|>');
    assert.equal(name(ids.bss), '<|extra_100|>');
    assert.equal(name(ids.eol), '<|extra_200|>');
    assert.equal(name(ids.img), '<|image token|>');
    assert.equal(name(ids.boi), '<|image start|>');
    assert.equal(name(ids.eoi), '<|image end|>');
  });

  it('carries Emu3.5 templates for every task and merges overrides field by field', async () => {
    const { manifest } = await buildTinyModel(dir, { tasks: { vla: { sampling: { maxNewTokens: 40, image: { topK: 3 } } } } });
    assert.deepEqual(Object.keys(manifest.tasks).sort(), ['explore', 'howto', 'story', 't2i', 'vla', 'x2i']);
    const vla = manifest.tasks.vla!;
    assert.equal(vla.sampling.maxNewTokens, 40);
    assert.deepEqual(vla.sampling.image, { topK: 3, topP: 1, temperature: 1 });
    assert.equal(vla.sampling.cfg, 3);
    assert.match(vla.conditional, /^<\|extra_203\|>You are a helpful assistant for \{task\} task\.\{extra\} USER: \{question\}\{images\} ASSISTANT: <\|extra_100\|>$/);
    assert.match(manifest.tasks.x2i!.conditional, /USER: \{images\}\{question\} ASSISTANT:/);
    assert.match(manifest.tasks.t2i!.unconditionalNoImage, /USER: {2}ASSISTANT:/);
    assert.equal(manifest.tasks.t2i!.stopAtEoi, true);
    assert.deepEqual(manifest.imageSizing.aspectPresets['1:1'], [2, 2]);
  });

  it('rejects inconsistent options with a ConfigError naming the field', async () => {
    await assert.rejects(buildTinyModel(dir, { queryHeads: 3, kvHeads: 2 }), (e: unknown) => e instanceof ConfigError && /queryHeads/.test(e.message));
    await assert.rejects(buildTinyModel(dir, { logitBias: { 99999: 1 } }), (e: unknown) => e instanceof ConfigError && /99999/.test(e.message));
    await assert.rejects(buildTinyModel(dir, { vocab: 'emu35', codebookSize: 64 }), ConfigError);
  });

  it('is deterministic in the seed', async () => {
    const a = await buildTinyModel(path.join(dir, 'a'), { seed: 7 });
    const b = await buildTinyModel(path.join(dir, 'b'), { seed: 7 });
    const c = await buildTinyModel(path.join(dir, 'c'), { seed: 8 });
    const bytes = (m: { dir: string }) => readFile(path.join(m.dir, 'decoder.onnx'));
    assert.deepEqual(await bytes(a), await bytes(b));
    assert.notDeepEqual(await bytes(a), await bytes(c));
    const logits = async (m: typeof a) => (await decode(await openSession(m.dir, 'decoder.onnx'), m.manifest, [5, 6, 7], emptyCache(m.manifest))).logits;
    assert.deepEqual(await logits(a), await logits(b));
    assert.notDeepEqual(await logits(a), await logits(c));
  });

  const emu35 = existsSync(DEFAULT_EMU35_RANKS) ? it : it.skip;
  emu35('builds on the real Emu3.5 vocabulary: ids of §2 and 282,926 logits', async () => {
    const { manifest } = await buildTinyModel(dir, { vocab: 'emu35' });
    assert.equal(await readlink(path.join(dir, manifest.tokenizer.ranks)), DEFAULT_EMU35_RANKS);
    assert.equal(manifest.vocab.size, 282926);
    assert.equal(manifest.vocab.visualOffset, 151854);
    assert.deepEqual(
      [manifest.vocab.ids.pad, manifest.vocab.ids.bss, manifest.vocab.ids.eol, manifest.vocab.ids.bos, manifest.vocab.ids.eos],
      [151643, 151746, 151846, 151849, 151850],
    );
    assert.deepEqual([manifest.vocab.ids.img, manifest.vocab.ids.boi, manifest.vocab.ids.eoi], [151851, 151852, 151853]);
    const { logits, dims } = await decode(await openSession(dir, 'decoder.onnx'), manifest, [151849, 9707], emptyCache(manifest));
    assert.deepEqual(dims, [1, 2, 282926]);
    assert.ok(logits.every(Number.isFinite));
  });
});
