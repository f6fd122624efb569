import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertDecoder, type ConvertDecoderOptions } from '../../sdk/convert/convertDecoder.ts';
import { InputError } from '../../sdk/errors.ts';
import type { DecoderSpec } from '../../sdk/model/ModelManifest.ts';
import { DecoderSession } from '../../sdk/runtime/DecoderSession.ts';
import { writeTinyEmu3Checkpoint, type TinyEmu3CheckpointOptions } from '../kit/emu3Checkpoint.ts';
import { emu3ReferenceMissing, runEmu3Reference, type Emu3ReferenceResult } from './emu3Reference.ts';

const PROMPT = [5, 17, 200, 33, 41, 9, 12, 250, 3, 77, 140, 2];
const STEPS = [99, 4, 181, 60, 7, 290];

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);

/** All prompt rows from one prefill (logits_to_keep = S), then each step's row through the engine's own DecoderSession. */
async function runConverted(file: string, spec: DecoderSpec, vocab: number): Promise<{ prefill: Float32Array[]; steps: Float32Array[]; greedy: number[] }> {
  const session = await DecoderSession.openSession(file, spec, vocab, { threads: 1 });
  try {
    const S = PROMPT.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(PROMPT, BigInt), [1, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(S).fill(1n), [1, S]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(PROMPT, (_, i) => BigInt(i)), [1, S]),
      logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(S)), [1]),
    };
    if (spec.io.keyPositions) feeds[spec.io.keyPositions] = new ort.Tensor('int64', BigInt64Array.from(PROMPT, (_, i) => BigInt(i)), [1, S]);
    const half = spec.dtype === 'float16';
    const capacity = spec.kvCache === 'shared' ? 64 : 0;
    for (let i = 0; i < spec.numLayers; i++) for (const kv of ['key', 'value']) {
      const n = spec.numKvHeads * capacity * spec.headDim;
      feeds[`past_key_values.${i}.${kv}`] = half ? new ort.Tensor('float16', new Uint16Array(n), [1, spec.numKvHeads, capacity, spec.headDim]) : new ort.Tensor('float32', new Float32Array(n), [1, spec.numKvHeads, capacity, spec.headDim]);
    }
    const logits = (await session.run(feeds)).logits!;
    assert.deepEqual(logits.dims, [1, S, vocab]);
    const all = logits.data as Float32Array;
    const prefill = PROMPT.map((_, s) => all.slice(s * vocab, (s + 1) * vocab));

    const lm = new DecoderSession(session, spec, vocab);
    await lm.prefill(PROMPT);
    const steps: Float32Array[] = [];
    for (const id of STEPS) steps.push((await lm.step(id)).slice());

    const greedyLm = new DecoderSession(session, spec, vocab);
    const greedy: number[] = [];
    let row = await greedyLm.prefill(PROMPT);
    for (let i = 0; i < 8; i++) {
      greedy.push(argmax(row));
      row = await greedyLm.step(greedy.at(-1)!);
    }
    return { prefill, steps, greedy };
  } finally {
    await session.release();
  }
}

describe('emu convert decoder against the official Emu3.5 decoder (PyTorch, eager attention)', function () {
  this.timeout(180_000);
  let root: string;
  before(function () {
    const missing = emu3ReferenceMissing();
    if (missing) this.skip();
    root = mkdtempSync(path.join(os.tmpdir(), 'emu-conv-'));
  });
  after(() => root && rmSync(root, { recursive: true, force: true }));

  const cases: { name: string; checkpoint: TinyEmu3CheckpointOptions; convert: Partial<ConvertDecoderOptions> }[] = [
    { name: 'bf16 shards, concat KV', checkpoint: {}, convert: {} },
    { name: 'bf16 shards, shared KV (GroupQueryAttention)', checkpoint: {}, convert: { kvCache: 'shared' } },
    { name: 'linear RoPE scaling, one file, 3 layers, GQA 8/2', checkpoint: { shards: 1, seed: 4, config: { rope_scaling: { type: 'linear', factor: 2.0 }, num_hidden_layers: 3, num_attention_heads: 8, num_key_value_heads: 2 } }, convert: {} },
  ];
  for (const c of cases) {
    it(`${c.name}: fp32 logits within 1e-4 at prefill and every KV step; greedy tokens equal`, async () => {
      const ck = writeTinyEmu3Checkpoint(path.join(root, c.name.replace(/\W+/g, '-')), c.checkpoint);
      const out = convertDecoder({ from: ck.dir, to: `${ck.dir}-onnx`, manifest: null, ...c.convert });
      const reference: Emu3ReferenceResult = await runEmu3Reference({ hf: ck.dir, prompt: PROMPT, steps: STEPS, greedy: 8 });
      const got = await runConverted(out.decoderFile, out.spec, ck.config.vocab_size);
      const prefillErr = Math.max(...got.prefill.map((r, i) => maxAbsDiff(r, reference.prefill[i]!)));
      const stepErr = Math.max(...got.steps.map((r, i) => maxAbsDiff(r, reference.steps[i]!)));
      assert.ok(prefillErr < 1e-4, `prefill max |Δ| ${prefillErr}`);
      assert.ok(stepErr < 1e-4, `steps max |Δ| ${stepErr}`);
      assert.deepEqual(got.greedy, reference.greedy);
      // the comparison has teeth: rows differ from one another by far more than the tolerance
      assert.ok(maxAbsDiff(reference.steps[0]!, reference.steps[1]!) > 0.1);
    });
  }

  it('fp16 (CPU provider) tracks the official fp32 logits; int8 and int4 stay close; the greedy start agrees', async () => {
    const ck = writeTinyEmu3Checkpoint(path.join(root, 'variants'), { seed: 9 });
    const reference = await runEmu3Reference({ hf: ck.dir, prompt: PROMPT, steps: STEPS, greedy: 8 });
    const scale = Math.max(...reference.steps.map((r) => Math.max(...r.map(Math.abs))));
    const errors: Record<string, number> = {};
    for (const [name, opts] of Object.entries({ fp16: { dtype: 'float16' }, int8: { quant: 'int8' }, int4: { quant: 'int4', blockSize: 16 }, 'fp16 int4': { dtype: 'float16', quant: 'int4' } } as Record<string, Partial<ConvertDecoderOptions>>)) {
      const out = convertDecoder({ from: ck.dir, to: path.join(root, `variant-${name.replace(' ', '-')}`), manifest: null, ...opts });
      const got = await runConverted(out.decoderFile, out.spec, ck.config.vocab_size);
      errors[name] = Math.max(...got.steps.map((r, i) => maxAbsDiff(r, reference.steps[i]!))) / scale;
      // random tiny weights leave near-ties among 300 logits: only the finer formats must keep the argmax
      if (name === 'fp16' || name === 'int8') assert.equal(got.greedy[0], reference.greedy![0], `${name}: first greedy token`);
    }
    console.log(`      max |Δlogit| / max |logit| vs official fp32: ${Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    assert.ok(errors.fp16! < 2e-2, JSON.stringify(errors));
    assert.ok(errors.int8! < 5e-2, JSON.stringify(errors));
    assert.ok(errors.int4! < 0.3, JSON.stringify(errors));
    assert.ok(errors.int8! < errors.int4!, `int8 is closer than int4: ${JSON.stringify(errors)}`);
  });

  it('reports fp16 overflow by tensor (a bf16 value beyond ±65504) and records hashes and options', () => {
    const ck = writeTinyEmu3Checkpoint(path.join(root, 'huge'), { huge: {} });
    const out = convertDecoder({ from: ck.dir, to: path.join(root, 'huge-onnx'), dtype: 'float16', manifest: null });
    assert.deepEqual(out.report.overflow.map((o) => [o.name, o.count, o.maxAbs]), [['model.layers.0.mlp.up_proj.weight', 1, 99840]]);
    const record = JSON.parse(readFileSync(path.join(root, 'huge-onnx', 'convert.json'), 'utf8')).decoder;
    assert.equal(record.options.dtype, 'float16');
    for (const s of record.sources) assert.equal(s.sha256, createHash('sha256').update(readFileSync(path.join(ck.dir, s.file))).digest('hex'), s.file);
    assert.ok(record.sources.some((s: { file: string }) => s.file === 'model.safetensors.index.json'));
    const fp32 = convertDecoder({ from: ck.dir, to: path.join(root, 'huge-fp32'), manifest: null });
    assert.deepEqual(fp32.report.overflow, []);
  });

  it('refuses broken checkpoints with typed errors and leaves no half-written files', () => {
    const ck = writeTinyEmu3Checkpoint(path.join(root, 'broken'), { shards: 1 });
    const config = JSON.parse(readFileSync(path.join(ck.dir, 'config.json'), 'utf8'));
    writeFileSync(path.join(ck.dir, 'config.json'), JSON.stringify({ ...config, intermediate_size: config.intermediate_size + 8 }));
    const to = path.join(root, 'broken-onnx');
    assert.throws(() => convertDecoder({ from: ck.dir, to, manifest: null }), (e: unknown) => e instanceof InputError && /mlp\.gate_proj\.weight is \[160,64\], config\.json implies \[168,64\]/.test(e.message));
    assert.deepEqual(readdir(to), []);
    writeFileSync(path.join(ck.dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: config.num_hidden_layers + 1 }));
    assert.throws(() => convertDecoder({ from: ck.dir, to, manifest: null }), (e: unknown) => e instanceof InputError && /lacks \d+ tensor/.test(e.message));
    writeFileSync(path.join(ck.dir, 'config.json'), JSON.stringify({ ...config, rope_scaling: { type: 'dynamic', factor: 2.0 } }));
    assert.throws(() => convertDecoder({ from: ck.dir, to, manifest: null }), (e: unknown) => e instanceof InputError && /dynamic/.test(e.message));
    // a template whose vocabulary disagrees with config.json
    writeFileSync(path.join(ck.dir, 'config.json'), JSON.stringify(config));
    assert.throws(() => convertDecoder({ from: ck.dir, to }), (e: unknown) => e instanceof InputError && /vocab\.size 282926 but config\.json has vocab_size 300/.test(e.message));
  });

  it('`emu convert decoder` on the command line', () => {
    const ck = writeTinyEmu3Checkpoint(path.join(root, 'cli'), {});
    const to = path.join(root, 'cli-onnx');
    const run = spawnSync(process.execPath, ['bin/emu.js', 'convert', 'decoder', '--from', ck.dir, '--to', to, '--quant', 'int4', '--block-size', '16', '--no-manifest'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /wrote .*decoder\.onnx \(2 layers, 2 KV heads, head dim 32, float32, int4 block 16\)/);
    const bad = spawnSync(process.execPath, ['bin/emu.js', 'convert', 'decoder', '--from', ck.dir, '--to', to, '--block-size', '16'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--block-size only applies with --quant/);
  });
});

function readdir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
