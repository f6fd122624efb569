import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { decompressHandlers } from '../../bridge/transports/mcapCompression.ts';

/** The validating check: @mcap/core's stream reader (CRCs on) reads the file to its footer, and the indexed reader opens it. */
export async function assertValidMcap(file: string): Promise<number> {
  const stream = new McapStreamReader({ decompressHandlers, validateCrcs: true });
  stream.append(readFileSync(file));
  let messages = 0;
  for (let r; (r = stream.nextRecord()); ) if (r.type === 'Message') messages += 1;
  assert.ok(stream.done(), `${file} ends with a footer`);
  const handle = await open(file, 'r');
  try {
    const indexed = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle), decompressHandlers });
    let viaIndex = 0;
    for await (const _ of indexed.readMessages()) viaIndex += 1;
    assert.equal(viaIndex, messages, 'the summary indexes every message');
  } finally {
    await handle.close();
  }
  return messages;
}

