import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadRanks } from '../../sdk/tokenizer/loadRanks.ts';
import { NANO_DIR, loadNanoManifest } from './emuNanoModel.ts';

const EMU35_SPECIALS = [
  '<|endoftext|>', '<|im_start|>', '<|im_end|>',
  ...Array.from({ length: 205 }, (_, i) => `<|extra_${i}|>`),
  '<|image token|>', '<|image start|>', '<|image end|>',
];
const CONDITIONAL = '<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: {question}{images} ASSISTANT: <|extra_100|>';
const CONDITIONAL_X2I = '<|extra_203|>You are a helpful assistant for {task} task.{extra} USER: {images}{question} ASSISTANT: <|extra_100|>';

describe('models/emu-nano manifest', () => {
  const m = loadNanoManifest();

  it('keeps the folder under 50 MB and ships every file it names', () => {
    const total = readdirSync(NANO_DIR).reduce((s, f) => s + statSync(path.join(NANO_DIR, f)).size, 0);
    assert.ok(total <= 50e6, `folder is ${total} bytes`);
    for (const f of [m.tokenizer.ranks, m.decoder.file, m.vision.encoder, m.vision.decoder]) {
      assert.ok(statSync(path.join(NANO_DIR, f)).size > 0, f);
    }
  });

  it('lays out the vocabulary like Emu3.5: ranks, 211 specials, then visual codes', async () => {
    const ranks = await loadRanks(path.join(NANO_DIR, m.tokenizer.ranks));
    assert.deepEqual(m.tokenizer.specialTokens, EMU35_SPECIALS);
    assert.equal(m.vocab.visualOffset, ranks.size + EMU35_SPECIALS.length);
    assert.equal(m.vocab.size, m.vocab.visualOffset + m.vocab.codebookSize);
    const id = (s: string) => ranks.size + EMU35_SPECIALS.indexOf(s);
    assert.deepEqual(
      [m.vocab.ids.bos, m.vocab.ids.eos, m.vocab.ids.bss, m.vocab.ids.ess, m.vocab.ids.eol, m.vocab.ids.img, m.vocab.ids.boi, m.vocab.ids.eoi, m.vocab.ids.pad],
      ['<|extra_203|>', '<|extra_204|>', '<|extra_100|>', '<|extra_101|>', '<|extra_200|>', '<|image token|>', '<|image start|>', '<|image end|>', '<|endoftext|>'].map(id),
    );
  });

  it('gives digits and * the Emu3.5 single-byte ranks (the engine forces header digits by id)', async () => {
    const ranks = await loadRanks(path.join(NANO_DIR, m.tokenizer.ranks));
    assert.equal(ranks.encoder.get('*'), 9);
    for (let d = 0; d <= 9; d++) assert.equal(ranks.encoder.get(String(d)), 15 + d);
  });

  it('uses the Emu3.5 templates for all six tasks with an 8x8 preset grid', () => {
    assert.deepEqual(Object.keys(m.tasks).sort(), ['explore', 'howto', 'story', 't2i', 'vla', 'x2i']);
    for (const [name, t] of Object.entries(m.tasks)) {
      assert.equal(t!.conditional, name === 'x2i' ? CONDITIONAL_X2I : CONDITIONAL, name);
      assert.equal(t!.unconditionalNoImage, '<|extra_203|>You are a helpful assistant. USER:  ASSISTANT: <|extra_100|>');
      assert.equal(t!.extra, name === 'howto' ? ' Please generate a response with interleaved text and images.' : '');
      assert.deepEqual(m.imageSizing.aspectPresets[t!.defaultAspect ?? ''], [8, 8], name);
    }
  });

  it('exports the decoder with the manifest I/O names and KV shapes', async () => {
    const s = await ort.InferenceSession.create(path.join(NANO_DIR, m.decoder.file));
    const layers = Array.from({ length: m.decoder.numLayers }, (_, i) => i);
    const io = m.decoder.io;
    assert.deepEqual([...s.inputNames].sort(), [io.inputIds, io.attentionMask, io.positionIds,
      ...layers.flatMap((i) => [io.pastKey, io.pastValue].map((n) => n.replace('{i}', String(i))))].sort());
    assert.deepEqual([...s.outputNames].sort(), [io.logits,
      ...layers.flatMap((i) => [io.presentKey, io.presentValue].map((n) => n.replace('{i}', String(i))))].sort());
    await s.release();
  });
});
