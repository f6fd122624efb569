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

  append(bytes: Uint8Array): { offset: number; length: number } {
    if (this.#fd === undefined) throw new Error(`external data ${this.location} is already closed`);
    const pad = (4096 - (this.#size % 4096)) % 4096;
    if (pad > 0) writeAll(this.#fd, new Uint8Array(pad));
    const offset = this.#size + pad;
    writeAll(this.#fd, bytes);
    this.#size = offset + bytes.byteLength;
    return { offset, length: bytes.byteLength };
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
