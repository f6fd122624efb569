import assert from 'node:assert/strict';
import { quantizeRows } from '../../sdk/convert/blockQuantize.ts';
import {
  decoderWeightBytes,
  EMU35_34B,
  estimateMemory,
  estimateVariant,
  formatBytes,
  kvCacheBytes,
  logitsBytes,
  matMulNBitsBytes,
  parameterCounts,
} from '../../sdk/model/memoryEstimate.ts';

// Hand-computed for Emu3.5-34B (hidden 5120, 64 layers, 64 heads, 8 KV heads, head dim 128, MLP 25600, vocab 282926):
//   embedding = lm_head = 282926·5120                                  = 1,448,581,120
//   per layer: q 8192·5120 + k 1024·5120 + v 1024·5120 + o 5120·8192
//              + gate/up/down 3·25600·5120                             =   487,587,840
//   64 layers                                                          = 31,205,621,760
//   norms: 64·(2·5120 + 2·128) + 5120                                  =       676,864
//   total                                                              = 34,103,460,864
// int4, block 64: 32 B packed + 2 B fp16 scale + ½ B zero point per 64 weights = 34.5/64 B per weight;
// int8: 64 + 2 + 1 = 67/64 B per weight; embeddings and norms stay fp16 (2 B).
const LINEAR = 31_205_621_760;
const EMBED = 1_448_581_120;
const NORMS = 676_864;

describe('memoryEstimate', () => {
  it('counts the 34B parameters', () => {
    const p = parameterCounts(EMU35_34B);
    assert.equal(p.embedding, EMBED);
    assert.equal(p.lmHead, EMBED);
    assert.equal(p.linear, LINEAR);
    assert.equal(p.norms, NORMS);
    assert.equal(p.total, 34_103_460_864);
  });

  it('34B weights per variant: fp16 68.2 GB, int8 37.1 GB, int4 20.5 GB', () => {
    assert.equal(decoderWeightBytes(EMU35_34B, 'fp16').total, 34_103_460_864 * 2);
    const int8 = decoderWeightBytes(EMU35_34B, 'int8');
    assert.equal(int8.linear, (LINEAR / 64) * 67);
    assert.equal(int8.lmHead, (EMBED / 64) * 67);
    assert.equal(int8.total, 37_083_384_608);
    const int4 = decoderWeightBytes(EMU35_34B, 'int4');
    assert.equal(int4.linear, (LINEAR / 64) * 34.5);
    assert.equal(int4.embedding, EMBED * 2);
    assert.equal(int4.norms, NORMS * 2);
    assert.equal(int4.total, 20_501_172_208);
    assert.ok(int4.total > 20e9 && int4.total < 22e9, 'int4 34B is about 21 GB');
  });

  it('KV cache = layers × 2 × kvHeads × headDim × context × streams × bytes', () => {
    // 64·2·8·128·4096·2·2 = 2 GiB
    assert.equal(kvCacheBytes({ layers: 64, kvHeads: 8, headDim: 128, context: 4096, streams: 2, dtype: 'float16' }), 2 * 2 ** 30);
    // emu-nano: 4·2·2·64·4096·2·4 = 32 MiB
    assert.equal(kvCacheBytes({ layers: 4, kvHeads: 2, headDim: 64, context: 4096, streams: 2, dtype: 'float32' }), 32 * 2 ** 20);
    assert.equal(kvCacheBytes({ layers: 1, kvHeads: 1, headDim: 1, context: 10, streams: 1, dtype: 'float32' }), 80);
  });

  it('logits: the full sequence without logits_to_keep, one row with it', () => {
    assert.equal(logitsBytes({ vocab: 282926, context: 4096, logitsToKeep: false }), 4_635_459_584);
    assert.equal(logitsBytes({ vocab: 282926, context: 4096, logitsToKeep: true }), 1_131_704);
    // Prefill in chunks of 512: 512·282926·4; a context under one chunk is one pass.
    assert.equal(logitsBytes({ vocab: 282926, context: 4096, logitsToKeep: false, prefillChunk: 512 }), 579_432_448);
    assert.equal(logitsBytes({ vocab: 10, context: 100, logitsToKeep: false, prefillChunk: 512 }), 4000);
  });

  it('MatMulNBits bytes: packed blocks + scales + zero points, a short last block padded', () => {
    // in 100 → 2 blocks: 4 bit: 2·32 + 2·2 + ⌈2/2⌉ = 69 per row; 8 bit: 2·64 + 2·2 + 2 = 134.
    assert.equal(matMulNBitsBytes(3, 100, { bits: 4, blockSize: 64 }), 3 * 69);
    assert.equal(matMulNBitsBytes(3, 100, { bits: 8, blockSize: 64 }), 3 * 134);
    // in 130 → 3 blocks, 4 bit: 96 + 6 + 2 = 104; fp32 scales: 96 + 12 + 2 = 110.
    assert.equal(matMulNBitsBytes(1, 130, { bits: 4, blockSize: 64 }), 104);
    assert.equal(matMulNBitsBytes(1, 130, { bits: 4, blockSize: 64, scaleBytes: 4 }), 110);
  });

  it('agrees with the layout the converter writes (blockQuantize)', () => {
    for (const bits of [4, 8] as const) {
      for (const cols of [64, 130, 200]) {
        const rows = 5;
        const q = quantizeRows(new Float32Array(rows * cols).map((_, i) => Math.sin(i)), rows, { rows, cols, bits, blockSize: 64 }, (x) => x);
        const bytes = q.packed.length + q.scales.length * 2 + q.zeroPoints.length;
        assert.equal(matMulNBitsBytes(rows, cols, { bits, blockSize: 64 }), bytes, `${bits} bit, K=${cols}`);
      }
    }
  });

  it('estimateMemory sums weights, KV cache and logits; estimateVariant for int4 at 4096 × 2', () => {
    const e = estimateMemory({ weightsBytes: 1000, layers: 1, kvHeads: 1, headDim: 2, vocab: 10, dtype: 'float16', logitsToKeep: false, context: 3, streams: 2 });
    // KV 1·2·1·2·3·2·2 = 48; logits 3·10·4 = 120
    assert.deepEqual(e, { context: 3, streams: 2, weightsBytes: 1000, kvCacheBytes: 48, logitsBytes: 120, totalBytes: 1168 });
    const v = estimateVariant(EMU35_34B, 'int4', { context: 4096, streams: 2 });
    assert.equal(v.totalBytes, 20_501_172_208 + 2 * 2 ** 30 + 1_131_704);
    assert.equal(v.fullLogitsBytes, 4_635_459_584);
    assert.throws(() => estimateMemory({ ...e, weightsBytes: 0, layers: 1, kvHeads: 1, headDim: 1, vocab: 1, dtype: 'float32', logitsToKeep: true, context: 0 }), /context/);
  });

  it('formats bytes in GB and GiB', () => {
    assert.equal(formatBytes(2 * 2 ** 30), '2.15 GB (2.00 GiB)');
    assert.equal(formatBytes(512), '512 B');
  });
});
