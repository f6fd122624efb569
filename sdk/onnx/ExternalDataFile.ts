import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The file beside a graph that holds its large initializers (ONNX external data). Bytes are appended
 * as tensors are converted and never held twice. It is written under a temporary name and renamed by
 * `commit()`, so a folder never holds a half-written weights file under the name a graph points at.
 * Tensors start on 4 KiB boundaries, which lets onnxruntime memory-map them.
 */
export class ExternalDataFile {
  readonly location: string;
  readonly #final: string;
  readonly #partial: string;
  #fd: number | undefined;
  #size = 0;

  /** `finalPath`: where the data will live; the graph refers to it by its base name. */
  constructor(finalPath: string) {
    this.#final = finalPath;
    this.#partial = `${finalPath}.partial`;
    this.location = path.basename(finalPath);
    this.#fd = openSync(this.#partial, 'w');
  }

  get size(): number {
    return this.#size;
  }

  #open: number | undefined;

  /** One tensor's bytes, written now. */
  append(bytes: Uint8Array): { offset: number; length: number } {
    this.begin();
    this.write(bytes);
    return this.end();
  }

  /** Starts a tensor written in pieces (`write()` each, then `end()`): a converter streams a matrix by rows. */
  begin(): void {
    const fd = this.#writable();
    if (this.#open !== undefined) throw new Error(`external data ${this.location}: a tensor is already being written`);
    const pad = (4096 - (this.#size % 4096)) % 4096;
    if (pad > 0) writeAll(fd, new Uint8Array(pad));
    this.#size += pad;
    this.#open = this.#size;
  }

  write(bytes: Uint8Array): void {
    if (this.#open === undefined) throw new Error(`external data ${this.location}: write() outside begin()/end()`);
    writeAll(this.#writable(), bytes);
    this.#size += bytes.byteLength;
  }

  end(): { offset: number; length: number } {
    const offset = this.#open;
    if (offset === undefined) throw new Error(`external data ${this.location}: end() without begin()`);
    this.#open = undefined;
    return { offset, length: this.#size - offset };
  }

  #writable(): number {
    if (this.#fd === undefined) throw new Error(`external data ${this.location} is already closed`);
    return this.#fd;
  }

  /** Flushes and moves the data under its final name. */
  commit(): void {
    this.#close();
    renameSync(this.#partial, this.#final);
  }

  /** Closes without publishing (the partial file is left for the caller to remove). */
  abandon(): string {
    this.#close();
    return this.#partial;
  }

  #close(): void {
    if (this.#fd === undefined) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
}
