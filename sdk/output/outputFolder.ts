import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';

/** Marks a folder as written by us, so a later run may replace it whole (and never a user's folder). */
export const OUTPUT_MARKER = '.emu-output';

/**
 * Checks, before any work, that `dir` can become an output folder: it is absent, an empty folder,
 * or one of our earlier outputs (which is replaced whole, never mixed with new files); and its
 * parent is writable. Throws a typed `input_invalid` naming the problem.
 */
export async function checkOutputFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new InputError('input_invalid', `output '${dir}' exists and is not a folder`);
  if (info) {
    const entries = await readdir(dir);
    // Ours: the marker, or an output written before the marker existed (a story export, a sim export, an eval report).
    const has = (...names: string[]) => names.every((n) => entries.includes(n));
    const ours = has(OUTPUT_MARKER) || has('story.pb', 'index.html') || has('meta.json', 'examples.jsonl') || has('results.json', 'report.html');
    if (entries.length > 0 && !ours) {
      throw new InputError('input_invalid', `output folder '${dir}' holds ${entries.length} file(s) that are not an emu output (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); choose a new or empty folder`);
    }
  }
  const parent = await nearestExisting(path.dirname(path.resolve(dir)));
  await access(parent, constants.W_OK).catch(() => {
    throw new InputError('input_invalid', `cannot write output '${dir}': '${parent}' is not writable`);
  });
}

/**
 * Fills a fresh temporary folder next to `dir`, then puts it in place of `dir` by rename: readers
 * see the old output or the whole new one, never a mix, and a failure leaves the old one as it was.
 */
export async function replaceFolder<T>(dir: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  await checkOutputFolder(dir);
  const parent = path.dirname(path.resolve(dir));
  await mkdir(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    const result = await fill(tmp);
    await writeFile(path.join(tmp, OUTPUT_MARKER), 'written by emu-robotics; a later run may replace this folder\n');
    const old = path.join(parent, `.${path.basename(dir)}.old-${tag}`);
    const existed = await rename(dir, old).then(() => true, () => false);
    await rename(tmp, dir);
    if (existed) await rm(old, { recursive: true, force: true });
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = path.dirname(d)) {
    if (await stat(d).then(() => true, () => false)) return d;
    if (path.dirname(d) === d) return d;
  }
}
