import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { convertVision } from '../../sdk/convert/convertVision.ts';
import { EngineError, InputError, ModelError } from '../../sdk/errors.ts';
import { readImageFile } from '../../sdk/image/codec.ts';
import { encodePng } from '../../sdk/image/encodePng.ts';
import { resizeRgb } from '../../sdk/image/preprocess.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { smartResize } from '../../sdk/image/smartResize.ts';
import { loadManifest, resolveModelPath } from '../../sdk/model/loadManifest.ts';
import { VisionTokenizer } from '../../sdk/runtime/VisionTokenizer.ts';
import { sharedEmu35Dir } from '../kit/sharedEmu35Dir.ts';
import { torchPython } from '../support/torchPython.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');

/** The official checkout (imported by the scripts, never copied) and the folder with einops. */
function sharedDir(name: string, probe: string): string | undefined {
  return [path.resolve(REPO, '../shared', name), path.join('/work/shared', name)].find((d) => existsSync(path.join(d, probe)));
}
const EMU35_SRC = process.env.EMU35_SRC ?? sharedDir('emu35-src', 'src/vision_tokenizer/ibq.py');
const PYTHON_PATH = sharedDir('python', 'einops/__init__.py');

function py(python: string, script: string, args: string[]): string {
  const r = spawnSync(python, [path.join(HERE, script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: [PYTHON_PATH, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
  });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
  return r.stdout;
}

/** A photo with structure when the shared ones are absent: gradients and a disc. */
function generatedImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      const disc = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (height / 4) ** 2;
      data[i] = disc ? 230 : Math.round((255 * x) / width);
      data[i + 1] = Math.round((255 * y) / height);
      data[i + 2] = disc ? 40 : 128 + Math.round(100 * Math.sin(x / 7));
    }
  }
  return { width, height, data };
}

describe('conformance: emu convert vision (official IBQ → ONNX → VisionTokenizer)', function () {
  this.timeout(120_000);
  let python: string;
  let dir: string;
  let vqDir: string;
  let modelDir: string;
  let exportSeconds: number;

  before(async function () {
    const t = torchPython();
    if ('missing' in t) return this.skip();
    if (!EMU35_SRC || !PYTHON_PATH) {
      if (process.env.EMU_REQUIRE_TORCH === '1') throw new Error('EMU_REQUIRE_TORCH=1 but the Emu3.5 checkout (shared/emu35-src) or shared/python (einops) is missing');
      return this.skip();
    }
    python = t.python;
    dir = await mkdtemp(path.join(os.tmpdir(), 'emu-convert-vision-'));
    vqDir = path.join(dir, 'vq');
    modelDir = path.join(dir, 'model');
    py(python, 'make_ibq_checkpoint.py', ['--emu35-src', EMU35_SRC, '--out', vqDir, '--seed', '0']);
    const started = performance.now();
    await convertVision({ from: vqDir, to: modelDir, emu35Src: EMU35_SRC, pythonPath: PYTHON_PATH, python });
    exportSeconds = (performance.now() - started) / 1000;
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the manifest carries the real config and the engine loads the graphs from it', async () => {
    const { manifest } = await loadManifest(modelDir, { requireOnnx: false, ranksPath: path.join(sharedEmu35Dir(), 'emu3.tiktoken') });
    assert.equal(manifest.vision.downsample, 2); // ch_mult [1, 2]
    assert.deepEqual(manifest.vision.normalize, { scale: 127.5, shift: 1 });
    assert.equal(manifest.vocab.codebookSize, 64);
    assert.equal(manifest.vocab.size, manifest.vocab.visualOffset + 64);
    const record = JSON.parse(await readFile(path.join(modelDir, 'convert.json'), 'utf8'));
    assert.deepEqual(record.vision.sources.map((s: { file: string }) => s.file), ['config.yaml', 'model.ckpt']);
    assert.match(record.vision.sources[1].sha256, /^[0-9a-f]{64}$/);
    assert.equal(record.vision.facts.embedDim, 8);
    assert.equal(record.vision.options.dtype, 'float32');
    assert.ok(exportSeconds < 30, `export took ${exportSeconds.toFixed(1)} s`);
  });

  for (const [name, area] of [['ref_0.png', 96 * 64], ['ref_1.png', 48 * 80]] as const) {
    it(`${name}: codes identical to the official encode, decoded pixels within 1e-4 of decode_code`, async () => {
      const { manifest, dir: root } = await loadManifest(modelDir, { requireOnnx: false, ranksPath: path.join(sharedEmu35Dir(), 'emu3.tiktoken') });
      const photo = path.join(sharedEmu35Dir(), name);
      const image = existsSync(photo) ? await readImageFile(photo) : generatedImage(name === 'ref_0.png' ? 768 : 432, name === 'ref_0.png' ? 496 : 768);
      const encoderPath = resolveModelPath(root, manifest.vision.encoder);
      const decoderPath = resolveModelPath(root, manifest.vision.decoder);
      const vt = await VisionTokenizer.open(encoderPath, decoderPath, manifest.vision, manifest.vocab.codebookSize);
      const work = path.join(dir, name);
      await mkdir(work, { recursive: true });
      try {
        const encoded = await vt.encode(image, area);
        // The reference gets the very pixels the engine resized (sharp's cubic, not PIL's BICUBIC, is
        // not what is under test); it normalises and encodes them with the official code.
        const size = smartResize(image.width, image.height, area);
        const resizedPng = path.join(work, 'resized.png');
        await writeFile(resizedPng, encodePng({ ...size, data: await resizeRgb(image, size) }));
        py(python, 'ibq_reference.py', ['--emu35-src', EMU35_SRC!, '--vq-dir', vqDir, '--image', resizedPng, '--area', String(size.width * size.height), '--out', work]);
        const ref = JSON.parse(await readFile(path.join(work, 'codes.json'), 'utf8')) as { rows: number; cols: number; codes: number[] };
        assert.deepEqual([encoded.rows, encoded.cols], [ref.rows, ref.cols]);
        assert.deepEqual([ref.rows * 2, ref.cols * 2], [size.height, size.width]);
        const mismatches = encoded.codes.filter((c, i) => c !== ref.codes[i]).length;
        assert.equal(mismatches, 0, `${mismatches} of ${ref.codes.length} codes differ`);
        assert.ok(new Set(ref.codes).size > 8, 'a degenerate reference (too few distinct codes) would prove little');
        // codes 5..8 tie exactly with 60..63 (make_ibq_checkpoint.py): the first index wins, in both
        const ties = ref.codes.filter((c) => c >= 5 && c <= 8).length;
        assert.ok(ties > 0, 'the image should hit the tied codes');
        assert.equal(ref.codes.filter((c) => c >= 60).length, 0);

        // float comparison: the decoder graph run directly on the same codes, before any uint8 step
        const refPixels = new Float32Array((await readFile(path.join(work, 'pixels.f32'))).buffer.slice(0));
        const session = await ort.InferenceSession.create(decoderPath);
        const out = await session.run({ [manifest.vision.io.decoderInput]: new ort.Tensor('int64', BigInt64Array.from(ref.codes, BigInt), [1, ref.rows, ref.cols]) });
        const got = out[manifest.vision.io.decoderOutput]!;
        assert.deepEqual(got.dims, [1, 3, size.height, size.width]);
        const pixels = got.data as Float32Array;
        assert.equal(pixels.length, refPixels.length);
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < pixels.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(pixels[i]! - refPixels[i]!));
          maxAbs = Math.max(maxAbs, Math.abs(refPixels[i]!));
        }
        await session.release();
        assert.ok(maxDiff <= 1e-4, `max |Δpixel| ${maxDiff} (|x| up to ${maxAbs})`);

        // and the engine's own decode (uint8, clamped): off by at most one where x·127.5 sits on an integer
        const decoded = await vt.decode({ rows: ref.rows, cols: ref.cols }, ref.codes);
        const refU8 = await readFile(path.join(work, 'image_u8.bin'));
        assert.equal(decoded.data.length, refU8.length);
        let u8Diff = 0;
        for (let i = 0; i < refU8.length; i++) u8Diff = Math.max(u8Diff, Math.abs(decoded.data[i]! - refU8[i]!));
        assert.ok(u8Diff <= 1, `uint8 max diff ${u8Diff}`);
        console.log(`      ${name} ${size.width}x${size.height}: ${ref.codes.length} codes (${ties} on exact ties), ${mismatches} mismatches, max |Δpixel| ${maxDiff.toExponential(2)} (|x| ≤ ${maxAbs.toFixed(2)}), uint8 max diff ${u8Diff}; export ${exportSeconds.toFixed(1)} s`);
      } finally {
        await vt.close();
      }
    });
  }

  it('a second run keeps the other converters\' keys in convert.json', async () => {
    const recordFile = path.join(modelDir, 'convert.json');
    const record = JSON.parse(await readFile(recordFile, 'utf8'));
    await writeFile(recordFile, JSON.stringify({ ...record, decoder: { marker: 42 } }));
    await convertVision({ from: vqDir, to: modelDir, emu35Src: EMU35_SRC, pythonPath: PYTHON_PATH, python });
    const again = JSON.parse(await readFile(recordFile, 'utf8'));
    assert.deepEqual(again.decoder, { marker: 42 });
    assert.equal(again.vision.sources[1].sha256, record.vision.sources[1].sha256);
  });

  it('a codebook that does not fit an already converted decoder is a ModelError', async () => {
    const other = path.join(dir, 'with-decoder');
    await mkdir(other, { recursive: true });
    await writeFile(path.join(other, 'convert.json'), JSON.stringify({ decoder: { marker: 1 } })); // the emu35 template: 131072 codes
    await assert.rejects(convertVision({ from: vqDir, to: other, emu35Src: EMU35_SRC, pythonPath: PYTHON_PATH, python }), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch' && /64 codes/.test(e.message));
    assert.deepEqual(await readdir(other), ['convert.json'], 'no graph renamed into place, no temporary left behind');
  });

  describe('typed errors', () => {
    const broken = async (name: string, files: Record<string, string | null>) => {
      const d = path.join(dir, `bad-${name}`);
      await mkdir(d, { recursive: true });
      for (const f of ['config.yaml', 'model.ckpt']) if (files[f] !== null) await copyFile(path.join(vqDir, f), path.join(d, f));
      for (const [f, text] of Object.entries(files)) if (text !== null) await writeFile(path.join(d, f), text);
      return d;
    };
    const run = (from: string, extra: Partial<Parameters<typeof convertVision>[0]> = {}) =>
      convertVision({ from, to: path.join(dir, 'unused-out'), emu35Src: EMU35_SRC, pythonPath: PYTHON_PATH, python, ...extra });
    const inputError = (re: RegExp) => (e: unknown) => e instanceof InputError && e.code === 'input_invalid' && re.test(e.message);

    it('missing model.ckpt', async () => {
      await assert.rejects(run(await broken('no-ckpt', { 'model.ckpt': null })), inputError(/lacks model\.ckpt/));
    });
    it('config.yaml that is not YAML', async () => {
      await assert.rejects(run(await broken('yaml', { 'config.yaml': 'ddconfig: [unclosed\n  - : :' })), inputError(/not valid YAML/));
    });
    it('config.yaml without ddconfig', async () => {
      await assert.rejects(run(await broken('no-dd', { 'config.yaml': 'n_embed: 64\nembed_dim: 8\n' })), inputError(/no ddconfig/));
    });
    it('config.yaml with double_z (the Encoder default)', async () => {
      const yaml = (await readFile(path.join(vqDir, 'config.yaml'), 'utf8')).replace('double_z: false', 'double_z: true');
      await assert.rejects(run(await broken('double-z', { 'config.yaml': yaml })), inputError(/double_z/));
    });
    it('a checkpoint that does not fit the config', async () => {
      const yaml = (await readFile(path.join(vqDir, 'config.yaml'), 'utf8')).replace('n_embed: 64', 'n_embed: 32');
      await assert.rejects(run(await broken('misfit', { 'config.yaml': yaml })), inputError(/does not fit/));
    });
    it('wrong or absent --emu35-src', async () => {
      await assert.rejects(run(vqDir, { emu35Src: dir }), inputError(/not an Emu3\.5 checkout/));
      const saved = process.env.EMU35_SRC;
      delete process.env.EMU35_SRC;
      try {
        await assert.rejects(run(vqDir, { emu35Src: undefined }), inputError(/EMU35_SRC/));
      } finally {
        if (saved !== undefined) process.env.EMU35_SRC = saved;
      }
    });
    it('no einops on the Python path', async function () {
      if (spawnSync(python, ['-c', 'import einops']).status === 0) return this.skip(); // the interpreter has it anyway
      await assert.rejects(run(vqDir, { pythonPath: [] }), (e: unknown) => e instanceof EngineError && /einops/.test(e.message) && /--python-path/.test(e.message));
    });
    it('no such interpreter', async () => {
      await assert.rejects(run(vqDir, { python: path.join(dir, 'no-python3') }), (e: unknown) => e instanceof EngineError && /cannot run/.test(e.message));
    });
  });
});
