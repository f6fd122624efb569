import type * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.ts';
import { halfToFloat32 } from '../onnx/floatFormats.ts';

/**
 * The last `n` positions' logits of batch row `b`, from `[B,S,V]` (or `[B,kept,V]` with `logits_to_keep`).
 * fp32 rows are views into the tensor (valid until the next run); fp16 rows are widened, those rows alone.
 */
export function logitRows(t: ort.Tensor, n: number, vocabSize: number, b = 0): Float32Array[] {
  const v = Number(t.dims[t.dims.length - 1]);
  if (v !== vocabSize) throw new ModelError('model_mismatch', `decoder logits have vocab ${v}, manifest vocab.size is ${vocabSize}`);
  const batch = Number(t.dims[0]);
  const rows = t.data.length / v / batch;
  return Array.from({ length: n }, (_, i) => {
    const from = (b * rows + rows - n + i) * v;
    if (t.type === 'float16') return halfToFloat32((t.data as Uint16Array).subarray(from, from + v));
    return (t.data as Float32Array).subarray(from, from + v);
  });
}
