import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { blocksPerRow, dequantize, quantizeRows, type BlockLayout } from '../../../sdk/convert/blockQuantize.ts';
import { float32ToHalf, halfToFloat32 } from '../../../sdk/onnx/floatFormats.ts';
import { GraphBuilder } from '../../../sdk/onnx/GraphBuilder.ts';
import { SeededRandom } from '../../kit/seededRandom.ts';

const roundHalf = (x: number) => halfToFloat32(float32ToHalf(Float32Array.of(x)).bits)[0]!;

/** One MatMulNBits node: A [M,K] → [M,N], weights quantized by our packer. */
async function runMatMulNBits(a: Float32Array, m: number, w: Float32Array, layout: BlockLayout, type: 'float32' | 'float16'): Promise<Float32Array> {
  const q = quantizeRows(w, layout.rows, layout, type === 'float16' ? roundHalf : Math.fround);
  const g = new GraphBuilder('nbits');
  const input = g.input('a', type, [m, layout.cols]);
  const blocks = blocksPerRow(layout);
  const scales = type === 'float16' ? new Uint8Array(float32ToHalf(q.scales).bits.buffer) : new Uint8Array(q.scales.buffer);
  const y = g.op(
    'MatMulNBits',
    [
      input,
      g.initializer('b', 'uint8', [layout.rows, blocks, (layout.blockSize * layout.bits) / 8], q.packed),
      g.initializer('scales', type, [layout.rows * blocks], scales),
      g.initializer('zp', 'uint8', [q.zeroPoints.length], q.zeroPoints),
    ],
    { K: { int: layout.cols }, N: { int: layout.rows }, bits: { int: layout.bits }, block_size: { int: layout.blockSize }, accuracy_level: { int: 0 } },
    undefined,
    'com.microsoft',
  );
  g.output('y', type === 'float16' ? g.op('Cast', [y], { to: { int: 1 } }) : y, 'float32', [m, layout.rows]);
  const session = await ort.InferenceSession.create(g.encode(17));
  const feed = type === 'float16' ? new ort.Tensor('float16', float32ToHalf(a).bits, [m, layout.cols]) : new ort.Tensor('float32', a, [m, layout.cols]);
  const out = (await session.run({ a: feed })).y!.data as Float32Array;
  await session.release();
  return out;
}

function matmulT(a: Float32Array, m: number, w: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += a[i * k + t]! * w[j * k + t]!;
    out[i * n + j] = s;
  }
  return out;
}

describe('block quantization (MatMulNBits)', () => {
  const rng = new SeededRandom(11);
  for (const bits of [4, 8] as const) {
    for (const [k, blockSize] of [[96, 32], [100, 32], [64, 16], [256, 128]] as const) {
      it(`${bits}-bit, K=${k}, block ${blockSize}: onnxruntime computes exactly with the dequantized weights`, async () => {
        const n = 24;
        const m = 5;
        const layout: BlockLayout = { rows: n, cols: k, bits, blockSize };
        const w = Float32Array.from(rng.normal(n * k, 0.05));
        w[3] = 0.9; // an outlier widens one block's range
        const a = Float32Array.from(rng.normal(m * k, 1));
        const q = quantizeRows(w, n, layout, Math.fround);
        const deq = dequantize(q, layout);
        // each weight within half a step of its block's scale
        for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) {
          const scale = q.scales[r * blocksPerRow(layout) + Math.floor(c / blockSize)]!;
          assert.ok(Math.abs(deq[r * k + c]! - w[r * k + c]!) <= scale / 2 + 1e-7, `w[${r},${c}]`);
        }
        const got = await runMatMulNBits(a, m, w, layout, 'float32');
        const want = matmulT(a, m, deq, n, k);
        const err = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
        assert.ok(err < 1e-4, `max |Δ| ${err}`);
        // and the quantization is not a no-op: the dequantized weights differ from the originals
        assert.ok(deq.some((v, i) => v !== w[i]));
      });
    }
    it(`${bits}-bit with fp16 activations and scales runs on the CPU provider`, async () => {
      const layout: BlockLayout = { rows: 16, cols: 64, bits, blockSize: 32 };
      const w = Float32Array.from(rng.normal(16 * 64, 0.05));
      const a = halfToFloat32(float32ToHalf(Float32Array.from(rng.normal(3 * 64, 1))).bits);
      const got = await runMatMulNBits(a, 3, w, layout, 'float16');
      const want = matmulT(a, 3, dequantize(quantizeRows(w, 16, layout, roundHalf), layout), 16, 64);
      const err = Math.max(...got.map((v, i) => Math.abs(v - want[i]!) / (1 + Math.abs(want[i]!))));
      assert.ok(err < 5e-3, `max relative |Δ| ${err}`);
    });
  }

  it('an all-zero block dequantizes to exact zeros', () => {
    const layout: BlockLayout = { rows: 1, cols: 32, bits: 4, blockSize: 16 };
    const w = new Float32Array(32);
    w.fill(0.5, 16);
    const deq = dequantize(quantizeRows(w, 1, layout, Math.fround), layout);
    assert.deepEqual(Array.from(deq.subarray(0, 16)), new Array(16).fill(0));
    assert.ok(Math.abs(deq[20]! - 0.5) < 0.5 / 15);
  });
});
