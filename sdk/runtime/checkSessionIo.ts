import type * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.ts';

/** Expected I/O of a graph: name → expected dims (number = fixed, null = any). */
export interface IoExpectation {
  inputs: Record<string, (number | null)[] | null>;
  outputs: Record<string, (number | null)[] | null>;
}

/**
 * Throws ModelError('model_mismatch') when the graph lacks a name the manifest promises, or a fixed
 * dimension disagrees. Symbolic dims (strings) in the graph match anything.
 */
export function checkSessionIo(session: ort.InferenceSession, what: string, expect: IoExpectation): void {
  checkSide(what, 'input', session.inputNames, session.inputMetadata, expect.inputs);
  checkSide(what, 'output', session.outputNames, session.outputMetadata, expect.outputs);
}

function checkSide(
  what: string,
  side: 'input' | 'output',
  names: readonly string[],
  metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined,
  expected: Record<string, (number | null)[] | null>,
): void {
  const missing = Object.keys(expected).filter((n) => !names.includes(n));
  if (missing.length > 0) {
    throw new ModelError(
      'model_mismatch',
      `${what}: graph lacks ${side}(s) ${missing.map((m) => `'${m}'`).join(', ')} named in the manifest; graph ${side}s: ${names.join(', ')}`,
    );
  }
  for (const meta of metadata ?? []) {
    const want = expected[meta.name];
    if (!want || !meta.isTensor) continue;
    const shape = meta.shape;
    if (shape.length !== want.length) {
      throw new ModelError('model_mismatch', `${what}: ${side} '${meta.name}' has rank ${shape.length}, expected ${want.length} ([${want.map((d) => d ?? '?').join(',')}])`);
    }
    want.forEach((d, i) => {
      const got = shape[i];
      if (d !== null && typeof got === 'number' && got >= 0 && got !== d) {
        throw new ModelError('model_mismatch', `${what}: ${side} '${meta.name}' dim ${i} is ${got}, manifest implies ${d}`);
      }
    });
  }
}
