/// <reference path="./lz4js.d.ts" />
import * as zstd from '@foxglove/wasm-zstd';
import { decompress as zstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import type { McapTypes } from '@mcap/core';

/** MCAP chunk compression the recorder offers; zstd is rosbag2's default. */
export type ChunkCompression = 'zstd' | 'lz4' | 'none';

export type Compressor = (chunk: Uint8Array) => { compression: string; compressedData: Uint8Array };

/**
 * The chunk compressor for `kind`. zstd uses @foxglove/wasm-zstd (a WASM build of libzstd: fzstd only
 * decompresses), lz4 uses lz4js (LZ4 frame format, as MCAP specifies). Async because the WASM module
 * must finish loading first.
 */
export async function chunkCompressor(kind: ChunkCompression, zstdLevel = 3): Promise<Compressor | undefined> {
  if (kind === 'none') return undefined;
  if (kind === 'zstd') {
    await zstd.isLoaded;
    return (chunk) => ({ compression: 'zstd', compressedData: new Uint8Array(zstd.compress(chunk, zstdLevel)) });
  }
  return (chunk) => ({ compression: 'lz4', compressedData: new Uint8Array(lz4.compress(chunk)) });
}

/** Decompressors for reading bags: zstd (fzstd, pure JS) and lz4 (lz4js). */
export const decompressHandlers: McapTypes.DecompressHandlers = {
  zstd: (buffer, size) => zstdDecompress(buffer, new Uint8Array(Number(size))),
  lz4: (buffer) => new Uint8Array(lz4.decompress(buffer)),
};
