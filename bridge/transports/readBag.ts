import { open } from 'node:fs/promises';
import { McapIndexedReader } from '@mcap/core';
import { FileHandleReadable } from '@mcap/nodejs';
import { CdrCodec } from '../messages/CdrCodec.ts';
import { decompressHandlers } from './mcapCompression.ts';

export interface BagMessage {
  topic: string;
  schemaName: string;
  logTimeNs: bigint;
  message: unknown;
}

export interface BagSummary {
  profile: string;
  /** Compression of each chunk, in file order. */
  chunkCompression: string[];
  schemas: { name: string; encoding: string; text: string }[];
  channels: { topic: string; messageEncoding: string; schemaName: string; metadata: Record<string, string> }[];
  messages: BagMessage[];
}

/** Reads a whole (small) bag, decoding every CDR message with the bag's own schemas. For tests and tools. */
export async function readBag(path: string, topics?: readonly string[]): Promise<BagSummary> {
  const handle = await open(path, 'r');
  try {
    const reader = await McapIndexedReader.Initialize({ readable: new FileHandleReadable(handle), decompressHandlers });
    const codec = new CdrCodec();
    const messages: BagMessage[] = [];
    for await (const m of reader.readMessages(topics ? { topics } : {})) {
      const channel = reader.channelsById.get(m.channelId)!;
      const schema = reader.schemasById.get(channel.schemaId)!;
      const text = new TextDecoder().decode(schema.data);
      messages.push({ topic: channel.topic, schemaName: schema.name, logTimeNs: m.logTime, message: codec.decode(schema.name, m.data, text) });
    }
    return {
      profile: reader.header.profile,
      chunkCompression: reader.chunkIndexes.map((c) => c.compression),
      schemas: [...reader.schemasById.values()].map((s) => ({ name: s.name, encoding: s.encoding, text: new TextDecoder().decode(s.data) })),
      channels: [...reader.channelsById.values()].map((c) => ({
        topic: c.topic,
        messageEncoding: c.messageEncoding,
        schemaName: reader.schemasById.get(c.schemaId)?.name ?? '',
        metadata: Object.fromEntries(c.metadata),
      })),
      messages,
    };
  } finally {
    await handle.close();
  }
}
