import { open, stat, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { McapConstants, type McapTypes } from '@mcap/core';
import { TransportError } from '../../sdk/errors.ts';
import { decompressHandlers } from './mcapCompression.ts';

/**
 * A lenient, sequential MCAP reader for replay: the bag in file order, record by record, with or
 * without a summary or chunk index. What cannot be read is reported (once per damaged region, with
 * a code) and skipped; everything that can be recovered is delivered.
 *
 * - An unindexed bag, or one a killed recorder left without a footer, reads like any other.
 * - A chunk whose CRC does not match, or whose records do not parse, is skipped whole; reading
 *   resumes at the next record.
 * - A record whose length runs past the end of the file is where the bag was cut off.
 * - Framing that makes no sense (unknown opcode, impossible length) is resynchronised by scanning
 *   forward for the next chunk whose header is self-consistent.
 * - A chunk that claims more than `maxChunkBytes` (compressed or not) is refused, not allocated.
 *
 * Schemas and channels are taken from the summary first when the file has a valid footer, so that
 * messages in later chunks stay readable when the chunk that first defined their channel is damaged.
 */
export type ScannedRecord =
  | { type: 'schema'; schema: McapTypes.Schema }
  | { type: 'channel'; channel: McapTypes.Channel }
  | { type: 'message'; message: McapTypes.Message };

/** A damaged region of the bag: skipped, and reported once. */
export interface BagDamage {
  code: 'bag_truncated' | 'chunk_corrupt' | 'chunk_too_large' | 'record_corrupt';
  /** Byte offset of the damaged record in the file. */
  offset: number;
  reason: string;
}

export interface ScanOptions {
  onDamage?: (damage: BagDamage) => void;
  signal?: AbortSignal;
  /** Largest chunk accepted, compressed or uncompressed. @default 1 GiB @unit bytes */
  maxChunkBytes?: number;
}

const { Opcode, MCAP_MAGIC } = McapConstants;
const MAGIC = Uint8Array.from(MCAP_MAGIC);
const HEAD = 9; // opcode u8 + length u64
const KNOWN_COMPRESSION = new Set(['', 'zstd', 'lz4']);

/**
 * The file a replay path names: an `.mcap` file, or a rosbag2 bag folder holding exactly one (the
 * layout `ros2 bag record -s mcap` writes).
 */
export async function resolveBagFile(path: string): Promise<string> {
  const info = await stat(path).catch((err) => {
    throw new TransportError(`cannot open bag '${path}': ${(err as Error).message}`, { cause: err });
  });
  if (!info.isDirectory()) return path;
  const files = (await readdir(path)).sort();
  const mcaps = files.filter((f) => f.endsWith('.mcap'));
  if (mcaps.length === 1) return join(path, mcaps[0]!);
  if (mcaps.length === 0 && files.some((f) => f.endsWith('.db3'))) {
    throw new TransportError(`'${path}' is a rosbag2 SQLite (.db3) bag; convert it to MCAP first: ros2 bag convert -i ${path} -o out.yaml (storage_id: mcap)`);
  }
  throw new TransportError(`'${path}' is a folder with ${mcaps.length} .mcap files (${mcaps.slice(0, 5).join(', ') || 'none'}); pass one file`);
}

export async function* scanBag(path: string, options: ScanOptions = {}): AsyncGenerator<ScannedRecord> {
  const handle = await open(path, 'r').catch((err) => {
    throw new TransportError(`cannot open bag '${path}': ${(err as Error).message}`, { cause: err });
  });
  try {
    const size = (await handle.stat()).size;
    await checkMagic(handle, path, size);
    const scanner = new Scanner(handle, size, options);
    yield* scanner.summaryDefinitions();
    yield* scanner.dataSection();
  } finally {
    await handle.close();
  }
}

async function checkMagic(handle: FileHandle, path: string, size: number): Promise<void> {
  const head = Buffer.alloc(16);
  await handle.read(head, 0, 16, 0);
  if (size >= MAGIC.length && head.subarray(0, MAGIC.length).equals(MAGIC)) return;
  const what = head.subarray(0, 15).toString('latin1') === 'SQLite format 3'
    ? 'a rosbag2 SQLite (.db3) bag; convert it to MCAP first (ros2 bag convert, storage_id: mcap)'
    : size === 0 ? 'empty' : `not an MCAP file (it starts with ${[...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
  throw new TransportError(`'${path}' is ${what}`);
}

class Scanner {
  readonly #maxChunk: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly options: ScanOptions,
  ) {
    this.#maxChunk = options.maxChunkBytes ?? 1024 ** 3;
  }

  /** Schemas and channels from a valid summary section, if the file has one. */
  async *summaryDefinitions(): AsyncGenerator<ScannedRecord> {
    const footerAt = this.size - MAGIC.length - HEAD - 20;
    if (footerAt < MAGIC.length) return;
    const tail = await this.#read(footerAt, HEAD + 20 + MAGIC.length);
    if (tail[0] !== Opcode.FOOTER || !tail.subarray(HEAD + 20).equals(MAGIC)) return;
    const summaryStart = Number(tail.readBigUInt64LE(HEAD));
    if (summaryStart < MAGIC.length || summaryStart >= footerAt || footerAt - summaryStart > this.#maxChunk) return;
    const summary = await this.#read(summaryStart, footerAt - summaryStart);
    for (const r of records(summary)) {
      if (r.opcode === Opcode.SCHEMA || r.opcode === Opcode.CHANNEL) {
        const def = parseDefinition(r.opcode, r.body);
        if (def) yield def;
      }
    }
  }

  /**
   * Messages in log-time order (file order among equal times), as `ros2 bag play` plays them:
   * chunks are merged by their time ranges, each decompressed only when the merge reaches it.
   */
  async *dataSection(): AsyncGenerator<ScannedRecord> {
    const sources: Source[] = [];
    yield* this.#walk(sources);
    sources.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.order - b.order));
    const pending: Pending[] = []; // sorted latest-first, so the next message is popped from the end
    let order = 0;
    for (let next = 0; ; ) {
      while (next < sources.length && (pending.length === 0 || sources[next]!.start <= pending.at(-1)!.message.logTime)) {
        if (this.options.signal?.aborted) return;
        for (const r of await this.#load(sources[next++]!)) {
          if (r.type === 'message') insertPending(pending, { message: r.message, order: order++ });
          else yield r;
        }
      }
      const head = pending.pop();
      if (!head) return;
      yield { type: 'message', message: head.message };
    }
  }

  /**
   * Pass one: the data section's framing, record by record. Yields schemas and channels outside
   * chunks; collects chunks (by their headers, not decompressed) and loose messages as sources.
   */
  async *#walk(sources: Source[]): AsyncGenerator<ScannedRecord> {
    let offset = MAGIC.length;
    while (offset < this.size) {
      if (this.options.signal?.aborted) return;
      if (this.size - offset < HEAD) return this.#damage('bag_truncated', offset, `the bag ends inside a record header (${this.size - offset} bytes left): cut off while recording`);
      const head = await this.#read(offset, HEAD);
      const opcode = head[0]!;
      const length = head.readBigUInt64LE(1);
      if (opcode === Opcode.DATA_END || opcode === Opcode.FOOTER) return;
      const end = BigInt(offset + HEAD) + length;
      let suspect: string | undefined;
      if (opcode === 0 || end > BigInt(this.size)) {
        // Either the bag was cut off here, or this record's framing is corrupt and later chunks survive.
        suspect = opcode === 0 ? `invalid record opcode 0 at byte ${offset}` : `a record (opcode ${opcode}) at byte ${offset} claims ${length} bytes but only ${this.size - offset - HEAD} remain`;
      } else if (opcode === Opcode.CHUNK) {
        const chunk = await this.#chunkSource(offset, Number(length), sources.length);
        if (typeof chunk === 'string') suspect = chunk;
        else if (chunk) sources.push(chunk);
      } else if (opcode === Opcode.SCHEMA || opcode === Opcode.CHANNEL || opcode === Opcode.MESSAGE) {
        if (length > BigInt(this.#maxChunk)) this.#damage('record_corrupt', offset, `a record (opcode ${opcode}) claims ${length} bytes, over the ${this.#maxChunk}-byte limit; skipped`);
        else if (opcode === Opcode.MESSAGE) {
          const time = await this.#read(offset + HEAD + 6, 8);
          if (time.length < 8 || length < 22n) this.#damage('record_corrupt', offset, `a message record at byte ${offset} is too short; skipped`);
          else sources.push({ kind: 'message', offset, length: Number(length), start: time.readBigUInt64LE(0), order: sources.length });
        } else {
          const r = parseRecord(opcode, await this.#read(offset + HEAD, Number(length)));
          if (r) yield r;
          else this.#damage('record_corrupt', offset, `a record (opcode ${opcode}) at byte ${offset} does not parse; skipped`);
        }
      }
      if (suspect === undefined) {
        offset = Number(end);
        continue;
      }
      // Do not trust this record's length to find the next one.
      const next = await this.#resync(offset + 1, suspect);
      if (next === undefined) return;
      offset = next;
    }
  }

  /** A chunk's header checked against its framing: a source, undefined (skipped, reported), or why the framing is suspect. */
  async #chunkSource(offset: number, length: number, order: number): Promise<Source | string | undefined> {
    if (length > this.#maxChunk) {
      this.#damage('chunk_too_large', offset, `chunk at byte ${offset} claims ${length} bytes, over the ${this.#maxChunk}-byte limit; skipped`);
      return undefined;
    }
    const header = parseChunkHeader(await this.#read(offset + HEAD, Math.min(length, 40 + 256)), length);
    if (typeof header === 'string') {
      this.#damage('chunk_corrupt', offset, `chunk at byte ${offset}: ${header}; skipped`);
      return `chunk at byte ${offset} has an inconsistent header`;
    }
    if (header.uncompressedSize > BigInt(this.#maxChunk)) {
      this.#damage('chunk_too_large', offset, `chunk at byte ${offset} claims ${header.uncompressedSize} bytes uncompressed, over the ${this.#maxChunk}-byte limit; skipped`);
      return undefined;
    }
    return { kind: 'chunk', offset, length, start: header.messageStartTime, order };
  }

  /** Pass two: a source's records, or none (reported) when the chunk is damaged. A chunk is delivered whole or not at all. */
  async #load(source: Source): Promise<ScannedRecord[]> {
    const { offset } = source;
    const body = await this.#read(offset + HEAD, source.length);
    if (source.kind === 'message') {
      const r = parseRecord(Opcode.MESSAGE, body);
      return r ? [r] : [];
    }
    const chunk = parseChunkHeader(body, source.length);
    if (typeof chunk === 'string') return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset}: ${chunk}; skipped`);
    let data: Uint8Array;
    try {
      data = chunk.compression === '' ? chunk.records : decompressHandlers[chunk.compression]!(chunk.records, chunk.uncompressedSize);
    } catch (err) {
      return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset} does not decompress (${chunk.compression}): ${(err as Error).message}; skipped`);
    }
    if (BigInt(data.byteLength) !== chunk.uncompressedSize) {
      return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset} decompresses to ${data.byteLength} bytes, its header says ${chunk.uncompressedSize}; skipped`);
    }
    if (chunk.uncompressedCrc !== 0 && crc32(data) !== chunk.uncompressedCrc) {
      return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset} fails its CRC check; skipped`);
    }
    const parsed: ScannedRecord[] = [];
    for (const r of records(Buffer.from(data.buffer, data.byteOffset, data.byteLength))) {
      if (r.opcode === undefined) return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset} holds a malformed record; skipped`);
      const rec = parseRecord(r.opcode, r.body);
      if (rec) parsed.push(rec);
      else if (r.opcode === Opcode.SCHEMA || r.opcode === Opcode.CHANNEL || r.opcode === Opcode.MESSAGE) {
        return this.#skip('chunk_corrupt', offset, `chunk at byte ${offset} holds a record (opcode ${r.opcode}) that does not parse; skipped`);
      }
    }
    return parsed;
  }

  /** Scans forward from `from` for the next self-consistent chunk header; reports the gap once. */
  async #resync(from: number, why: string): Promise<number | undefined> {
    const window = 1 << 20;
    for (let start = from; start < this.size - HEAD; start += window - 64) {
      const buf = await this.#read(start, Math.min(window, this.size - start));
      for (let i = buf.indexOf(Opcode.CHUNK); i !== -1 && i + HEAD + 40 <= buf.length; i = buf.indexOf(Opcode.CHUNK, i + 1)) {
        if (await this.#plausibleChunk(start + i)) {
          this.#damage('record_corrupt', from - 1, `${why}; skipped ${start + i - from + 1} bytes to the next chunk at byte ${start + i}`);
          return start + i;
        }
      }
    }
    this.#damage('bag_truncated', from - 1, `${why}: the bag was cut off (or is corrupt to its end); ${this.size - from + 1} bytes lost`);
    return undefined;
  }

  async #plausibleChunk(at: number): Promise<boolean> {
    if (this.size - at < HEAD + 40) return false;
    const head = await this.#read(at, HEAD + 32);
    const length = head.readBigUInt64LE(1);
    if (length < 40n || BigInt(at + HEAD) + length > BigInt(this.size) || length > BigInt(this.#maxChunk)) return false;
    const start = head.readBigUInt64LE(HEAD);
    const end = head.readBigUInt64LE(HEAD + 8);
    const compressionLength = head.readUInt32LE(HEAD + 28);
    if (end < start || compressionLength > 8) return false;
    // Body: start u64, end u64, uncompressed size u64, crc u32, compression (u32 length + bytes), records length u64.
    const header = await this.#read(at + HEAD, 32 + compressionLength + 8);
    const compression = header.subarray(32, 32 + compressionLength).toString('latin1');
    const recordsLength = header.readBigUInt64LE(32 + compressionLength);
    return KNOWN_COMPRESSION.has(compression) && recordsLength + 40n + BigInt(compressionLength) === length;
  }

  /** Reports a damaged chunk; it yields no records. */
  #skip(code: BagDamage['code'], offset: number, reason: string): ScannedRecord[] {
    this.#damage(code, offset, reason);
    return [];
  }

  #damage(code: BagDamage['code'], offset: number, reason: string): void {
    this.options.onDamage?.({ code, offset, reason });
  }

  async #read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, position);
    return bytesRead === length ? buf : buf.subarray(0, bytesRead);
  }
}

/** Records laid end to end in `buf`; a record that runs past the end yields `{ opcode: undefined }` and stops. */
function* records(buf: Buffer): Generator<{ opcode: number; body: Buffer } | { opcode: undefined; body: Buffer }> {
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < HEAD) return yield { opcode: undefined, body: buf.subarray(at) };
    const length = buf.readBigUInt64LE(at + 1);
    if (length > BigInt(buf.length - at - HEAD)) return yield { opcode: undefined, body: buf.subarray(at) };
    yield { opcode: buf[at]!, body: buf.subarray(at + HEAD, at + HEAD + Number(length)) };
    at += HEAD + Number(length);
  }
}

/** A schema, channel or message record; undefined for other opcodes or a body that does not parse. */
function parseRecord(opcode: number, body: Buffer): ScannedRecord | undefined {
  if (opcode === Opcode.MESSAGE) {
    if (body.length < 22) return undefined;
    return {
      type: 'message',
      message: { channelId: body.readUInt16LE(0), sequence: body.readUInt32LE(2), logTime: body.readBigUInt64LE(6), publishTime: body.readBigUInt64LE(14), data: body.subarray(22) },
    };
  }
  return parseDefinition(opcode, body);
}

function parseDefinition(opcode: number, body: Buffer): ScannedRecord | undefined {
  try {
    const r = new FieldReader(body);
    if (opcode === Opcode.SCHEMA) {
      const id = r.u16();
      const name = r.str();
      const encoding = r.str();
      return { type: 'schema', schema: { id, name, encoding, data: r.bytes(r.u32()) } };
    }
    if (opcode === Opcode.CHANNEL) {
      const id = r.u16();
      const schemaId = r.u16();
      const topic = r.str();
      const messageEncoding = r.str();
      return { type: 'channel', channel: { id, schemaId, topic, messageEncoding, metadata: r.map() } };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

type ChunkHeader = Omit<McapTypes.Chunk, 'records'> & { records: Uint8Array };

/** A chunk record's body (or its first bytes: `records` is then cut short) checked against the record's `length`. */
function parseChunkHeader(body: Buffer, length: number): ChunkHeader | string {
  try {
    const r = new FieldReader(body);
    const messageStartTime = r.u64();
    const messageEndTime = r.u64();
    const uncompressedSize = r.u64();
    const uncompressedCrc = r.u32();
    const compression = r.str();
    if (!(compression in decompressHandlers) && compression !== '') return `unsupported compression '${compression.slice(0, 32)}'`;
    const recordsLength = r.u64();
    if (recordsLength !== BigInt(length - r.at)) return `records length ${recordsLength} does not match the record's ${length - r.at} bytes`;
    if (compression === '' && uncompressedSize !== recordsLength) return `uncompressed chunk of ${recordsLength} bytes claims ${uncompressedSize}`;
    if (messageEndTime < messageStartTime) return `message end time ${messageEndTime} is before its start ${messageStartTime}`;
    return { messageStartTime, messageEndTime, uncompressedSize, uncompressedCrc, compression, records: body.subarray(r.at) };
  } catch (err) {
    return (err as Error).message;
  }
}

interface Source {
  kind: 'chunk' | 'message';
  offset: number;
  length: number;
  /** Earliest log time in it. */
  start: bigint;
  /** File order. */
  order: number;
}

interface Pending {
  message: McapTypes.Message;
  order: number;
}

/** Inserts into `pending`, kept sorted latest-first (by log time, then load order). */
function insertPending(pending: Pending[], item: Pending): void {
  const later = (a: Pending, b: Pending) => a.message.logTime > b.message.logTime || (a.message.logTime === b.message.logTime && a.order > b.order);
  let lo = 0;
  let hi = pending.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (later(pending[mid]!, item)) lo = mid + 1;
    else hi = mid;
  }
  pending.splice(lo, 0, item);
}

/** Little-endian MCAP fields with bounds checks (a corrupt length throws, never allocates). */
class FieldReader {
  at = 0;
  constructor(private readonly buf: Buffer) {}
  #need(n: number): void {
    if (n < 0 || this.at + n > this.buf.length) throw new Error(`field of ${n} bytes runs past the record's end`);
  }
  u16(): number {
    this.#need(2);
    return (this.at += 2), this.buf.readUInt16LE(this.at - 2);
  }
  u32(): number {
    this.#need(4);
    return (this.at += 4), this.buf.readUInt32LE(this.at - 4);
  }
  u64(): bigint {
    this.#need(8);
    return (this.at += 8), this.buf.readBigUInt64LE(this.at - 8);
  }
  bytes(n: number): Buffer {
    this.#need(n);
    return (this.at += n), this.buf.subarray(this.at - n, this.at);
  }
  str(): string {
    return this.bytes(this.u32()).toString('utf8');
  }
  map(): Map<string, string> {
    const end = this.u32() + this.at;
    if (end > this.buf.length) throw new Error('map runs past the record end');
    const m = new Map<string, string>();
    while (this.at < end) m.set(this.str(), this.str());
    return m;
  }
}
