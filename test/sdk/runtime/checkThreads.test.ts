import assert from 'node:assert/strict';
import os from 'node:os';
import { checkThreads, createSession } from '../../../sdk/runtime/createSession.ts';

describe('ORT thread count (bounded by the machine)', () => {
  const cores = os.availableParallelism();
  it('accepts 1..cores and refuses the rest with input_invalid, before any graph is opened', async () => {
    assert.equal(checkThreads(1), 1);
    assert.equal(checkThreads(cores), cores);
    for (const bad of [0, -1, 1.5, cores + 1, 512, Number.NaN]) assert.throws(() => checkThreads(bad), { code: 'input_invalid' }, String(bad));
    await assert.rejects(createSession('models/emu-nano/decoder.onnx', { threads: 512 }), { code: 'input_invalid', message: /threads must be/ });
  });
});
