import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertDecoder } from '../../sdk/convert/convertDecoder.ts';
import { ModelCheckReportSchema, probeProviders, readGraphStructure, type ModelCheckReport } from '../../sdk/model/checkModel.ts';
import { nanoShape, writeNanoAsEmu3Checkpoint } from '../../training/nanoCheckpoint.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const nano = path.join(root, 'models/emu-nano');

function emu(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function checkJson(dir: string, ...extra: string[]): { code: number | null; report: ModelCheckReport } {
  const r = emu('model', 'check', dir, '--json', '--no-probe', ...extra);
  assert.equal(r.stderr.includes('Error'), false, r.stderr);
  return { code: r.code, report: ModelCheckReportSchema.parse(JSON.parse(r.stdout)) };
}

function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const file = path.join(dir, 'emu-model.json');
  const m = JSON.parse(readFileSync(file, 'utf8'));
  edit(m);
  writeFileSync(file, JSON.stringify(m, null, 2));
}

describe('emu model check / emu doctor (CLI)', function () {
  this.timeout(180_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'emu-model-check-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('emu-nano: usable (exit 0), shape read from the graph, memory arithmetic', () => {
    const { code, report } = checkJson(nano);
    assert.equal(code, 0, JSON.stringify(report.problems));
    assert.equal(report.usable, true);
    assert.deepEqual(report.problems, []);
    const d = report.decoder!;
    assert.equal(d.layers, 4);
    assert.equal(d.kvHeads, 2);
    assert.equal(d.headDim, 64);
    assert.equal(d.vocab, 1735);
    assert.equal(d.dtype, 'float32');
    assert.equal(d.logitsToKeep, null);
    assert.deepEqual(d.extraInputs, []);
    assert.equal(d.structure!.matMulNBits.nodes, 0);
    assert.deepEqual(d.structure!.externalData, []);
    // All weights are embedded: nearly the whole file, never more.
    const size = statSync(path.join(nano, 'decoder.onnx')).size;
    assert.ok(d.structure!.weightsBytes <= size && d.structure!.weightsBytes > 0.95 * size, `${d.structure!.weightsBytes} vs file ${size}`);
    assert.deepEqual(report.tokenizer, { file: 'nano.tiktoken', ranks: 488, specialTokens: 211, visualTokens: 1036, vocabSize: 1735 });
    assert.equal(report.vision!.ok, true);
    const m = report.memory!;
    assert.equal(m.kvCacheBytes, 4 * 2 * 2 * 64 * 4096 * 2 * 4); // 32 MiB
    // No logits_to_keep: every position of a prefill pass, which the engine caps at PREFILL_CHUNK (512) tokens.
    assert.equal(m.prefillChunk, 512);
    assert.equal(m.logitsBytes, 512 * 1735 * 4);
    assert.equal(m.weightsBytes, m.decoderWeightsBytes + m.visionWeightsBytes);
    assert.equal(m.totalBytes, m.weightsBytes + m.kvCacheBytes + m.logitsBytes);
    assert.equal(report.providers[0]!.name, 'cpu');
    assert.equal(report.providers[0]!.available, true);
    const small = checkJson(nano, '--context', '100', '--streams', '1').report.memory!;
    assert.equal(small.kvCacheBytes, 4 * 2 * 2 * 64 * 100 * 1 * 4);
    assert.equal(small.logitsBytes, 100 * 1735 * 4, 'a prompt shorter than a chunk: the whole context in one pass');
  });

  it('text report and the doctor alias', () => {
    const r = emu('doctor', '--no-probe');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /decoder +ok +decoder\.onnx: 4 layers, 2 KV heads × head dim 64, vocab 1735, float32/);
    assert.match(r.stdout, /tokenizer +ok +nano\.tiktoken: 488 ranks \+ 211 special \+ 1036 visual = 1735 tokens/);
    assert.match(r.stdout, /^ {2}cpu +yes/m);
    assert.match(r.stdout, /^ {2}cuda +(yes|no)/m);
    assert.match(r.stdout, /^ {2}webgpu +(yes|no)/m);
    assert.match(r.stdout, /KV cache +33\.55 MB/);
    assert.match(r.stdout, /result: usable on cpu/);
    assert.equal(emu('doctor', '--help').code, 0);
    assert.equal(emu('model', '--help').code, 0);
    assert.equal(emu('model').code, 2);
    assert.equal(emu('model', 'check', '--context', '0').code, 1);
  });

  it('a broken copy (wrong vocab size, wrong KV heads, missing tokenizer file): exit 1, each problem with its fix', () => {
    const dir = path.join(tmp, 'broken');
    cpSync(nano, dir, { recursive: true });
    rmSync(path.join(dir, 'nano.tiktoken'));
    editManifest(dir, (m) => {
      m.vocab.size = 1736;
      m.decoder.numKvHeads = 4;
    });
    const { code, report } = checkJson(dir);
    assert.equal(code, 1);
    assert.equal(report.usable, false);
    const find = (re: RegExp) => report.problems.find((p) => re.test(p.message));
    const ranks = find(/tokenizer\.ranks = 'nano\.tiktoken' is missing/);
    assert.ok(ranks, JSON.stringify(report.problems));
    assert.match(ranks.fix, /put the tokenizer ranks .* at .*nano\.tiktoken/);
    const kv = find(/decoder\.numKvHeads is 4 but decoder\.onnx has 2/);
    assert.ok(kv, JSON.stringify(report.problems));
    assert.equal(kv.fix, 'set decoder.numKvHeads to 2 in emu-model.json');
    const vocab = find(/vocab\.size is 1736 but the decoder's logits have 1735/);
    assert.ok(vocab, JSON.stringify(report.problems));
    assert.match(vocab.fix, /set vocab\.size to 1735/);
    assert.equal(report.problems.length, 3, JSON.stringify(report.problems));
    const text = emu('model', 'check', dir, '--no-probe');
    assert.equal(text.code, 1);
    assert.match(text.stdout, /3 problems:/);
    assert.match(text.stdout, /fix: set decoder\.numKvHeads to 2/);
    assert.match(text.stdout, /result: NOT usable/);
  });

  it('schema errors and a missing folder are problems too, not crashes', () => {
    const dir = path.join(tmp, 'schema');
    cpSync(nano, dir, { recursive: true });
    editManifest(dir, (m) => {
      m.decoder.headDim = -1;
      delete m.vocab.ids;
    });
    const { code, report } = checkJson(dir);
    assert.equal(code, 1);
    assert.ok(report.problems.some((p) => p.area === 'manifest' && /decoder\.headDim/.test(p.message)), JSON.stringify(report.problems));
    assert.ok(report.problems.some((p) => /vocab\.ids/.test(p.message)));
    const missing = checkJson(path.join(tmp, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.report.problems[0]!.message, /no emu-model\.json/);
  });

  describe('an fp16 int4 export (MatMulNBits, external data, logits_to_keep)', () => {
    let dir: string;
    let ck: string;
    const convert = (name: string, options: Partial<Parameters<typeof convertDecoder>[0]>) => {
      const to = path.join(tmp, name);
      convertDecoder({ from: ck, to, dtype: 'float16', quant: 'int4', manifest: path.join(nano, 'emu-model.json'), ...options });
      for (const f of ['vision_encoder.onnx', 'vision_decoder.onnx']) symlinkSync(path.join(nano, f), path.join(to, f));
      return to;
    };
    before(() => {
      ck = path.join(tmp, 'checkpoint');
      writeNanoAsEmu3Checkpoint(path.join(nano, 'decoder.onnx'), nanoShape(nano), ck);
      dir = convert('int4', {});
    });

    it('the KV layout: a shared-cache export is read as such; "shared" on a concat graph is a problem (it fails the first forward)', () => {
      const shared = convert('shared', { kvCache: 'shared' });
      const ok = checkJson(shared);
      assert.equal(ok.code, 0, JSON.stringify(ok.report.problems));
      assert.equal(ok.report.decoder!.kvCache, 'shared');
      assert.equal(ok.report.decoder!.structure!.groupQueryAttention, 4);
      editManifest(shared, (m) => {
        m.decoder.kvCache = 'concat';
      });
      const w = checkJson(shared).report;
      assert.match(w.warnings.map((x) => x.fix).join('\n'), /set decoder\.kvCache to "shared"/);
      const wrong = path.join(tmp, 'wrong-kv');
      cpSync(dir, wrong, { recursive: true, verbatimSymlinks: true });
      editManifest(wrong, (m) => {
        m.decoder.kvCache = 'shared';
      });
      const bad = checkJson(wrong);
      assert.equal(bad.code, 1);
      assert.ok(bad.report.problems.some((p) => /decoder\.kvCache is "shared" but decoder\.onnx has no GroupQueryAttention/.test(p.message) && /set decoder\.kvCache to "concat"/.test(p.fix)), JSON.stringify(bad.report.problems));
    });

    it('is usable and read right: 4 bits, float16, logits_to_keep, weights = graph + data file', async () => {
      const { code, report } = checkJson(dir);
      assert.equal(code, 0, JSON.stringify(report.problems));
      assert.deepEqual(report.warnings, []);
      const d = report.decoder!;
      assert.equal(d.dtype, 'float16');
      assert.equal(d.logitsToKeep, 'logits_to_keep');
      // 7 linear layers × 4 layers + lm_head
      assert.equal(d.structure!.matMulNBits.nodes, 29);
      assert.deepEqual(d.structure!.matMulNBits.bits, [4]);
      const data = statSync(path.join(dir, 'decoder.onnx.data')).size;
      assert.deepEqual(d.structure!.externalData, [{ file: 'decoder.onnx.data', bytes: data }]);
      assert.equal(d.structure!.weightsBytes, d.structure!.embeddedBytes + data);
      assert.equal(report.memory!.logitsBytes, 1735 * 4, 'one row with logits_to_keep');
      assert.equal(report.memory!.kvCacheBytes, 4 * 2 * 2 * 64 * 4096 * 2 * 2, 'fp16 KV cache');
      // The structure comes from the protobuf alone: beside a sparse data file of the same size (all zeros, never read) it is the same.
      const sparse = path.join(tmp, 'sparse');
      mkdirSync(sparse);
      cpSync(path.join(dir, 'decoder.onnx'), path.join(sparse, 'decoder.onnx'));
      writeFileSync(path.join(sparse, 'decoder.onnx.data'), '');
      truncateSync(path.join(sparse, 'decoder.onnx.data'), data);
      const s = await readGraphStructure(path.join(sparse, 'decoder.onnx'));
      assert.deepEqual(s, d.structure);
    });

    it('manifest drift: io.logitsToKeep dropped, dtype float32, quantization dropped → problems/warning with fixes', () => {
      const drift = path.join(tmp, 'drift');
      mkdirSync(drift);
      for (const f of ['decoder.onnx', 'decoder.onnx.data', 'nano.tiktoken', 'emu-model.json']) cpSync(path.join(dir, f), path.join(drift, f));
      for (const f of ['vision_encoder.onnx', 'vision_decoder.onnx']) symlinkSync(path.join(nano, f), path.join(drift, f));
      editManifest(drift, (m) => {
        delete m.decoder.io.logitsToKeep;
        delete m.decoder.quantization;
        m.decoder.dtype = 'float32';
      });
      const { code, report } = checkJson(drift);
      assert.equal(code, 1);
      const fixes = report.problems.map((p) => p.fix);
      assert.ok(fixes.includes('set decoder.io.logitsToKeep to "logits_to_keep" in emu-model.json'), JSON.stringify(report.problems));
      assert.ok(fixes.includes('set decoder.dtype to "float16" in emu-model.json'), JSON.stringify(report.problems));
      assert.equal(report.warnings.length, 1);
      assert.match(report.warnings[0]!.message, /29 com\.microsoft MatMulNBits nodes \(4-bit, block 32\) but decoder\.quantization is not set/);
      assert.match(report.warnings[0]!.fix!, /"bits": 4, "blockSize": 32/);
      // A missing external data file is named as such.
      rmSync(path.join(drift, 'decoder.onnx.data'));
      const gone = checkJson(drift).report;
      assert.ok(gone.problems.some((p) => /keeps weights in 'decoder\.onnx\.data', which is missing/.test(p.message)), JSON.stringify(gone.problems));
    });
  });

  it('--estimate emu35: the 34B per variant (hand-checked in test/sdk/memoryEstimate.test.ts)', () => {
    const r = emu('model', 'check', '--estimate', 'emu35', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { variants: { variant: string; weightsBytes: number; kvCacheBytes: number; totalBytes: number }[] };
    const by = Object.fromEntries(out.variants.map((v) => [v.variant, v]));
    assert.equal(by.fp16!.weightsBytes, 68_206_921_728);
    assert.equal(by.int8!.weightsBytes, 37_083_384_608);
    assert.equal(by.int4!.weightsBytes, 20_501_172_208);
    assert.equal(by.int4!.kvCacheBytes, 2 ** 31);
    const text = emu('model', 'check', '--estimate', 'emu35');
    assert.match(text.stdout, /int4 +20\.50 GB/);
    assert.equal(emu('model', 'check', nano, '--estimate', 'emu35').code, 1, 'a folder and --estimate do not mix');
  });

  it('providers: the CUDA fix is npm run install:cuda while the provider library is missing; found libraries count', () => {
    const ortDir = path.join(tmp, 'ort');
    mkdirSync(path.join(ortDir, 'bin/napi-v6', process.platform, process.arch), { recursive: true });
    cpSync(path.join(root, 'node_modules/onnxruntime-node/package.json'), path.join(ortDir, 'package.json'));
    symlinkSync(path.join(root, 'node_modules/onnxruntime-node/dist'), path.join(ortDir, 'dist'));
    const cuda = () => probeProviders({ ortDir, skipLiveProbes: true, findLibrary: (n) => `/fake/${n}` }).find((p) => p.name === 'cuda')!;
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    const missing = cuda();
    assert.equal(missing.available, false);
    assert.equal(missing.fixes[0], 'npm run install:cuda');
    assert.ok(missing.checks.filter((c) => c.check.startsWith('lib')).every((c) => c.ok), 'all CUDA libraries "found"');
    const none = probeProviders({ ortDir, skipLiveProbes: true, findLibrary: () => undefined }).find((p) => p.name === 'cuda')!;
    assert.ok(none.reasons.some((r) => /CUDA 12 \/ cuDNN 9 libraries not found: libcudart\.so\.12/.test(r)), JSON.stringify(none.reasons));
    assert.ok(none.fixes.some((f) => /apt-get install -y .*libcudnn9-cuda-12/.test(f)));
    // Installed (a file that is no ELF links nothing): no longer the install fix.
    for (const f of ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so']) writeFileSync(path.join(ortDir, 'bin/napi-v6/linux/x64', f), 'x');
    const installed = cuda();
    assert.ok(!installed.fixes.includes('npm run install:cuda'));
    if (!existsSync('/dev/nvidia0')) assert.deepEqual(installed.reasons.map((r) => r.replace(/ \(.*/, '')), ['no NVIDIA GPU visible']);
  });
});
