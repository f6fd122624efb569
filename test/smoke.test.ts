import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';

describe('toolchain', () => {
  it('loads onnxruntime-node with the CPU backend', () => {
    const names = ort.listSupportedBackends().map((b) => b.name);
    assert.ok(names.includes('cpu'));
  });
});
