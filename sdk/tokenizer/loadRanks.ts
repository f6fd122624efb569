import { readFile } from 'node:fs/promises';
import { ModelError } from '../errors.ts';

/**
 * Token byte strings are held as latin1 JS strings (one char per byte): cheap Map keys and cheap
 * concatenation, turned back into bytes only at decode time.
 */
export interface Ranks {
  /** latin1 byte string → rank */
  encoder: Map<string, number>;
  /** rank → latin1 byte string (sparse if ranks have gaps) */
  decoder: string[];
  /** highest rank + 1 */
  size: number;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Reads a tiktoken ranks file (`base64(token) rank` per line). Missing → model_missing; garbled → model_mismatch. */
export async function loadRanks(path: string): Promise<Ranks> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ModelError('model_missing', `Tokenizer ranks file not readable: ${path} (${(err as Error).message})`, { cause: err });
  }
  return parseRanks(text, path);
}

export function parseRanks(text: string, source = '<ranks>'): Ranks {
  const encoder = new Map<string, number>();
  const decoder: string[] = [];
  let size = 0;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.length === 0) continue;
    const sp = line.indexOf(' ');
    const b64 = sp > 0 ? line.slice(0, sp) : '';
    const rank = sp > 0 ? Number(line.slice(sp + 1)) : NaN;
    if (!BASE64.test(b64) || !Number.isInteger(rank) || rank < 0) {
      throw new ModelError('model_mismatch', `Garbled tokenizer ranks file ${source}: line ${lineNo} is not "base64 rank": ${JSON.stringify(line.slice(0, 60))}`);
    }
    const bytes = Buffer.from(b64, 'base64').toString('latin1');
    if (encoder.has(bytes) || decoder[rank] !== undefined) {
      throw new ModelError('model_mismatch', `Garbled tokenizer ranks file ${source}: duplicate token or rank ${rank} at line ${lineNo}`);
    }
    encoder.set(bytes, rank);
    decoder[rank] = bytes;
    if (rank >= size) size = rank + 1;
  }
  if (encoder.size === 0) throw new ModelError('model_mismatch', `Tokenizer ranks file ${source} holds no ranks`);
  return { encoder, decoder, size };
}
