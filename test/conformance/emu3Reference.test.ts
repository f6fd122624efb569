import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { emu3Names, readEmu3Config } from '../../sdk/convert/emu3Config.ts';
import { SafetensorsArchive } from '../../sdk/convert/safetensors.ts';
import { bf16ToFloat32 } from '../../sdk/onnx/floatFormats.ts';
import { float32ToBf16, writeTinyEmu3Checkpoint, type TinyEmu3Checkpoint } from '../kit/emu3Checkpoint.ts';
import { emu3ReferenceMissing, runEmu3Reference, type Emu3ReferenceResult } from './emu3Reference.ts';

const PROMPT = [5, 17, 250, 3, 99, 140, 7, 288, 61, 12];
const STEPS = [42, 199, 8, 271];
const GREEDY = 6;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function std(a: Float32Array): number {
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
}
function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

describe('conformance harness: the official Emu3.5 decoder on tiny checkpoints (emu3_reference.py)', function () {
  this.timeout(120_000);
  let dir: string;
  let ckpt: TinyEmu3Checkpoint;
  let ropeDir: string;
  let base: Emu3ReferenceResult;
  let again: Emu3ReferenceResult;
  let full: Emu3ReferenceResult;
  let rope: Emu3ReferenceResult;

  before(async function () {
    if (emu3ReferenceMissing()) return this.skip();
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu3-reference-test-'));
    ckpt = writeTinyEmu3Checkpoint(path.join(dir, 'base'), { seed: 1 });
    // One file (no index), the other reader path; the same weights as `base`.
    ropeDir = writeTinyEmu3Checkpoint(path.join(dir, 'rope'), { seed: 1, shards: 1, config: { rope_scaling: { type: 'linear', factor: 2 } } }).dir;
    [base, again, full, rope] = await Promise.all([
      runEmu3Reference({ hf: ckpt.dir, prompt: PROMPT, steps: STEPS, greedy: GREEDY }),
      runEmu3Reference({ hf: ckpt.dir, prompt: PROMPT, steps: STEPS, greedy: GREEDY }),
      runEmu3Reference({ hf: ckpt.dir, prompt: [...PROMPT, ...STEPS] }),
      runEmu3Reference({ hf: ropeDir, prompt: PROMPT }),
    ]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the kit checkpoint loads strictly into the official Emu3ForCausalLM (eager attention); a mismatch fails loudly', async () => {
    assert.equal(base.attention, 'Emu3Attention');
    assert.deepEqual(base.parameters, ckpt.tensors.map((t) => t.name).sort());
    assert.equal(ckpt.files.length, 2);
    assert.equal(base.V, ckpt.config.vocab_size);
    assert.deepEqual([base.prefill.length, base.steps.length], [PROMPT.length, STEPS.length]);
    // head_dim comes from config.json: q_proj is [heads·head_dim, hidden] = [128, 64], not [64, 64].
    assert.deepEqual(ckpt.tensors.find((t) => t.name === 'model.layers.0.self_attn.q_proj.weight')?.shape, [128, 64]);
    assert.deepEqual(ckpt.tensors.find((t) => t.name === 'model.layers.0.self_attn.q_norm.weight')?.shape, [32]);

    // One file, F32: loads too (the other reader path).
    const single = writeTinyEmu3Checkpoint(path.join(dir, 'single'), { seed: 1, shards: 1, dtype: 'F32' });
    assert.deepEqual(single.files, ['model.safetensors']);
    // Checkpoints that disagree with their config.json must not run.
    const broken = async (name: string, edit: Record<string, unknown>) => {
      const c = writeTinyEmu3Checkpoint(path.join(dir, name), { seed: 1 });
      const file = path.join(c.dir, 'config.json');
      await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), ...edit }));
      return c.dir;
    };
    const [misshapen, more] = await Promise.all([broken('head16-layers1', { head_dim: 16, num_hidden_layers: 1 }), broken('layers3', { num_hidden_layers: 3 })]);
    const [ok, ...failures] = await Promise.allSettled([
      runEmu3Reference({ hf: single.dir, prompt: PROMPT.slice(0, 3) }),
      runEmu3Reference({ hf: misshapen, prompt: PROMPT }),
      runEmu3Reference({ hf: more, prompt: PROMPT }),
    ]);
    assert.equal(ok!.status, 'fulfilled', ok!.status === 'rejected' ? String(ok!.reason) : '');
    const reasons = failures.map((f) => (f.status === 'rejected' ? String(f.reason) : 'ran'));
    assert.match(reasons[0]!, /strict load failed: missing \[\], unexpected \['model\.layers\.1\./);
    assert.match(reasons[0]!, /misshapen \[.*model\.layers\.0\.self_attn\.q_proj\.weight: checkpoint \[128, 64\], model \[64, 64\]/s);
    assert.match(reasons[1]!, /strict load failed: missing \['model\.layers\.2\./);
  });

  it('KV-cached steps equal a full forward over prompt + steps (within 1e-5)', () => {
    assert.equal(full.prefill.length, PROMPT.length + STEPS.length);
    for (let i = 0; i < PROMPT.length; i++) assert.ok(maxAbsDiff(base.prefill[i]!, full.prefill[i]!) <= 1e-5, `prefill row ${i}`);
    for (let i = 0; i < STEPS.length; i++) {
      const d = maxAbsDiff(base.steps[i]!, full.prefill[PROMPT.length + i]!);
      assert.ok(d <= 1e-5, `step ${i}: cached and full logits differ by ${d}`);
    }
  });

  it('the logits are not degenerate', () => {
    const rows = [...base.prefill, ...base.steps];
    for (const [i, r] of rows.entries()) {
      assert.ok(r.every(Number.isFinite), `row ${i} is not finite`);
      const s = std(r);
      assert.ok(s > 0.1 && s < 10, `row ${i}: std ${s}`);
    }
    for (let i = 1; i < rows.length; i++) assert.ok(maxAbsDiff(rows[0]!, rows[i]!) > 0.1, `row ${i} equals row 0`);
    assert.ok(new Set(rows.map(argmax)).size > 3, 'the argmax barely moves');
  });

  it('rope_scaling linear changes the logits (except at position 0, where RoPE is the identity)', () => {
    assert.ok(maxAbsDiff(rope.prefill[0]!, base.prefill[0]!) <= 1e-5);
    for (let i = 2; i < PROMPT.length; i++) {
      const d = maxAbsDiff(rope.prefill[i]!, base.prefill[i]!);
      assert.ok(d > 1e-2, `position ${i}: linear scaling moved the logits by only ${d}`);
    }
  });

  it('greedy decoding is deterministic and follows the argmax of the logits', async () => {
    assert.equal(base.greedy?.length, GREEDY);
    assert.deepEqual(again.greedy, base.greedy);
    assert.deepEqual(again.prefill, base.prefill);
    assert.deepEqual(again.steps, base.steps);
    const greedy = base.greedy!;
    assert.equal(greedy[0], argmax(base.prefill.at(-1)!));
    // Feeding the greedy tokens back as steps: each step's argmax is the next greedy token.
    const replay = await runEmu3Reference({ hf: ckpt.dir, prompt: PROMPT, steps: greedy.slice(0, -1) });
    assert.deepEqual(replay.steps.map(argmax), greedy.slice(1));
  });
});

describe('kit: writeTinyEmu3Checkpoint', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu3-checkpoint-kit-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('float32 → bf16 rounds to nearest even', () => {
    const bits = (x: number) => float32ToBf16(new Float32Array([x]))[0];
    assert.equal(bits(1), 0x3f80);
    assert.equal(bits(-2), 0xc000);
    assert.equal(bits(1 + 2 ** -8), 0x3f80); // halfway, even stays
    assert.equal(bits(1 + 3 * 2 ** -8), 0x3f82); // halfway, odd rounds up
    assert.equal(bits(1 + 2 ** -8 + 2 ** -20), 0x3f81);
    assert.equal(bits(Infinity), 0x7f80);
    assert.ok(Number.isNaN(bf16ToFloat32(float32ToBf16(new Float32Array([NaN])))[0]));
  });

  it('writes the released layout: the converter’s config schema reads it, the index matches the shards, norms are not 1', () => {
    const c = writeTinyEmu3Checkpoint(path.join(dir, 'a'), { seed: 3, shards: 3, config: { rope_scaling: { type: 'linear', factor: 2 } } });
    const config = readEmu3Config(c.dir);
    assert.deepEqual([config.head_dim, config.num_key_value_heads, config.rope_scaling?.factor], [32, 2, 2]);
    const archive = SafetensorsArchive.open(c.dir);
    assert.equal(c.files.length, 3);
    assert.deepEqual(archive.names.sort(), c.tensors.map((t) => t.name).sort());
    for (const t of c.tensors) {
      assert.equal(archive.info(t.name).dtype, 'BF16');
      assert.deepEqual(archive.info(t.name).shape, t.shape);
    }
    const norm = bf16ToFloat32(new Uint16Array(archive.read(emu3Names.layer(1).kNorm).buffer));
    assert.ok(norm.some((x) => Math.abs(x - 1) > 0.1) && norm.every((x) => x > 0), 'norm weights are random around 1');
  });

  it('huge writes one value beyond fp16 range; the same seed otherwise gives the same weights', () => {
    const plain = SafetensorsArchive.open(writeTinyEmu3Checkpoint(path.join(dir, 'p'), { seed: 4 }).dir);
    const huge = SafetensorsArchive.open(writeTinyEmu3Checkpoint(path.join(dir, 'h'), { seed: 4, huge: { index: 5 } }).dir);
    const name = emu3Names.layer(0).up;
    const a = bf16ToFloat32(new Uint16Array(plain.read(name).buffer));
    const b = bf16ToFloat32(new Uint16Array(huge.read(name).buffer));
    assert.ok(b[5]! > 65504, `huge value ${b[5]}`);
    assert.deepEqual([...b].filter((_, i) => i !== 5), [...a].filter((_, i) => i !== 5));
    assert.deepEqual(huge.read(emu3Names.lmHead), plain.read(emu3Names.lmHead));
  });
});
