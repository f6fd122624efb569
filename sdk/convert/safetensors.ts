import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.ts';

/**
 * Hugging Face safetensors, read tensor by tensor: an 8-byte little-endian header length, a JSON
 * header (`name → { dtype, shape, data_offsets }` relative to the data that follows), raw bytes.
 * A checkpoint is one `model.safetensors` or shards named by `model.safetensors.index.json`. Only
 * the headers are read up front; `read(name)` reads one tensor's bytes, so a 68 GB checkpoint costs
 * one tensor of memory at a time.
 */

export const SAFETENSORS_DTYPES = ['BF16', 'F16', 'F32', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];
const BYTES: Record<SafetensorsDtype, number> = { BF16: 2, F16: 2, F32: 4, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

const TensorEntrySchema = z.object({
  dtype: z.enum(SAFETENSORS_DTYPES),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});
const HeaderSchema = z.record(z.string(), z.unknown());
const IndexSchema = z.object({ metadata: z.record(z.string(), z.unknown()).optional(), weight_map: z.record(z.string(), z.string()) });

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** File and absolute byte range of the data. */
  file: string;
  begin: number;
  end: number;
}

/** All tensors of a checkpoint folder (or one file), by name. */
export class SafetensorsArchive {
  readonly #tensors: Map<string, TensorInfo>;
  /** The files read, in name order (a conversion record hashes them). */
  readonly files: string[];

  private constructor(tensors: Map<string, TensorInfo>, files: string[]) {
    this.#tensors = tensors;
    this.files = files;
  }

  /** `where`: a folder with `model.safetensors.index.json` or `model.safetensors`, or a `.safetensors` file. */
  static open(where: string): SafetensorsArchive {
    if (!existsSync(where)) throw new InputError('input_invalid', `no checkpoint at ${where}`);
    if (statSync(where).isFile()) return SafetensorsArchive.#fromFiles([where], undefined);
    const indexPath = path.join(where, 'model.safetensors.index.json');
    if (existsSync(indexPath)) {
      const index = parseJson(indexPath, IndexSchema);
      const shards = [...new Set(Object.values(index.weight_map))].sort();
      const archive = SafetensorsArchive.#fromFiles(shards.map((s) => path.join(where, s)), index.weight_map);
      return archive;
    }
    const single = path.join(where, 'model.safetensors');
    if (existsSync(single)) return SafetensorsArchive.#fromFiles([single], undefined);
    throw new InputError('input_invalid', `${where} has neither model.safetensors.index.json nor model.safetensors`);
  }

  static #fromFiles(files: string[], weightMap: Record<string, string> | undefined): SafetensorsArchive {
    const tensors = new Map<string, TensorInfo>();
    for (const file of files) {
      if (!existsSync(file)) throw new InputError('input_invalid', `checkpoint shard ${file} is missing (named by the index)`);
      for (const info of readHeader(file)) {
        if (tensors.has(info.name)) throw new InputError('input_invalid', `tensor ${info.name} is in both ${tensors.get(info.name)!.file} and ${file}`);
        tensors.set(info.name, info);
      }
    }
    if (weightMap) {
      for (const [name, shard] of Object.entries(weightMap)) {
        const info = tensors.get(name);
        if (!info) throw new InputError('input_invalid', `the index names ${name} in ${shard}, but no shard holds it`);
        if (path.basename(info.file) !== shard) throw new InputError('input_invalid', `the index puts ${name} in ${shard}, but it is in ${path.basename(info.file)}`);
      }
    }
    return new SafetensorsArchive(tensors, files);
  }

  get names(): string[] {
    return [...this.#tensors.keys()];
  }

  has(name: string): boolean {
    return this.#tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.#tensors.get(name);
    if (!info) throw new InputError('input_invalid', `the checkpoint has no tensor ${name}`);
    return info;
  }

  /** One tensor's raw bytes (a fresh, aligned buffer). */
  read(name: string): Uint8Array {
    const info = this.info(name);
    return readRange(info, 0, info.end - info.begin);
  }

  /**
   * Rows `[start, start + count)` of a tensor along its first axis, so a converter can stream a
   * matrix of several GB without ever holding it whole.
   */
  readRows(name: string, start: number, count: number): Uint8Array {
    const info = this.info(name);
    const rows = info.shape[0] ?? 1;
    if (start < 0 || count < 0 || start + count > rows) throw new RangeError(`${name}: rows ${start}..${start + count} outside [0, ${rows})`);
    const rowBytes = (info.end - info.begin) / Math.max(rows, 1);
    return readRange(info, start * rowBytes, count * rowBytes);
  }
}

function readRange(info: TensorInfo, from: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const fd = openSync(info.file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, bytes, done, length - done, info.begin + from + done);
      if (n === 0) throw new InputError('input_invalid', `${info.file} ends inside tensor ${info.name}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

function readHeader(file: string): TensorInfo[] {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const head = Buffer.alloc(8);
    if (size < 8 || readSync(fd, head, 0, 8, 0) !== 8) throw new InputError('input_invalid', `${file} is not a safetensors file (too short)`);
    const length = Number(head.readBigUInt64LE(0));
    if (length > size - 8 || length > 100 * 2 ** 20) throw new InputError('input_invalid', `${file} is not a safetensors file (header length ${length})`);
    const json = Buffer.alloc(length);
    readSync(fd, json, 0, length, 8);
    let header: Record<string, unknown>;
    try {
      header = HeaderSchema.parse(JSON.parse(json.toString('utf8')));
    } catch (err) {
      throw new InputError('input_invalid', `${file}: unreadable safetensors header (${(err as Error).message})`);
    }
    const dataStart = 8 + length;
    const out: TensorInfo[] = [];
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const parsed = TensorEntrySchema.safeParse(raw);
      if (!parsed.success) throw new InputError('input_invalid', `${file}: tensor ${name} has a bad header entry: ${parsed.error.issues[0]?.message}`);
      const { dtype, shape, data_offsets: [b, e] } = parsed.data;
      const expected = shape.reduce((a, d) => a * d, 1) * BYTES[dtype];
      if (e - b !== expected) throw new InputError('input_invalid', `${file}: tensor ${name} [${shape}] ${dtype} needs ${expected} bytes, header says ${e - b}`);
      if (dataStart + e > size) throw new InputError('input_invalid', `${file}: tensor ${name} runs past the end of the file`);
      out.push({ name, dtype, shape, file, begin: dataStart + b, end: dataStart + e });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function parseJson<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError('input_invalid', `${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new InputError('input_invalid', `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export interface TensorToWrite {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array;
}

/** Writes one safetensors file (fixtures, and writing a model out in the released format). */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // aligned data, as the reference writer pads
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, head);
    writeSync(fd, Buffer.from(json, 'utf8'));
    for (const t of tensors) writeSync(fd, t.data);
  } finally {
    closeSync(fd);
  }
}
