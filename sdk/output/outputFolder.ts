import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';

/** Marks a folder as written by us, so a later run may replace it whole (and never a user's folder). */
export const OUTPUT_MARKER = '.emu-output';

/**
 * Outputs written before the marker existed, recognised by their whole listing (the layout's own
 * files present, and every entry one the layout writes), never by a name or two: a user's folder that
 * merely holds an `index.html` or a `meta.json` among other things is not ours to replace.
 */
const LEGACY_LAYOUTS: readonly { needs: readonly string[]; owns: (name: string) => boolean }[] = [
  { needs: ['story.pb', 'index.html'], owns: (n) => /^\d{3}_[\w.-]+\.(txt|png|json)$/.test(n) || ['story.pb', 'index.html', 'TRUNCATED.txt'].includes(n) }, // emu generate
  { needs: ['meta.json', 'examples.jsonl'], owns: (n) => ['meta.json', 'examples.jsonl', 'frames'].includes(n) }, // emu sim export
  { needs: ['results.json', 'report.html'], owns: (n) => ['results.json', 'report.html'].includes(n) }, // emu sim eval
];

function isOurs(entries: readonly string[]): boolean {
  return entries.includes(OUTPUT_MARKER) || LEGACY_LAYOUTS.some((l) => l.needs.every((n) => entries.includes(n)) && entries.every(l.owns));
}

/**
 * Checks, before any work, that `dir` can become an output folder: it is absent, an empty folder,
 * or one of our earlier outputs (which is replaced whole, never mixed with new files); and the folder
 * it goes into is a writable folder. Throws a typed `input_invalid` naming the problem.
 */
export async function checkOutputFolder(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new InputError('input_invalid', `output '${dir}' exists and is not a folder`);
  if (info) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !isOurs(entries)) {
      throw new InputError('input_invalid', `output folder '${dir}' holds ${entries.length} file(s) that are not an emu output (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); choose a new or empty folder`);
    }
  }
  const parent = await nearestExisting(path.dirname(await realTarget(dir)));
  if (!(await stat(parent)).isDirectory()) throw new InputError('input_invalid', `cannot write output '${dir}': '${parent}' is a file, not a folder`);
  // A real write, not access(W_OK): root passes W_OK on folders that refuse writes (sysfs, some mounts).
  const probe = await mkdtemp(path.join(parent, '.emu-probe-')).catch((err: NodeJS.ErrnoException) => {
    throw new InputError('input_invalid', `cannot write output '${dir}': '${parent}' is not writable (${err.code ?? err.message})`, { cause: err });
  });
  await rm(probe, { recursive: true, force: true });
}

/**
 * Fills a fresh temporary folder next to `dir`, then puts it in place of `dir` by rename: readers
 * see the old output or the whole new one, never a mix, and a failure leaves the old one as it was.
 */
export async function replaceFolder<T>(dir: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  await checkOutputFolder(dir);
  // Through a symlinked --out, the folder it points to is replaced (the link stays a link).
  const target = await realTarget(dir);
  const parent = path.dirname(target);
  await mkdir(parent, { recursive: true });
  await removeLeftovers(parent, path.basename(target));
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${tag}`);
  await mkdir(tmp);
  try {
    const result = await fill(tmp);
    await writeFile(path.join(tmp, OUTPUT_MARKER), 'written by emu-robotics; a later run may replace this folder\n');
    const old = path.join(parent, `.${path.basename(target)}.old-${tag}`);
    const existed = await rename(target, old).then(() => true, () => false);
    await rename(tmp, target);
    if (existed) await rm(old, { recursive: true, force: true });
    return result;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes the temporary folders of earlier runs for `base` whose process is gone (killed mid-export, say). */
async function removeLeftovers(parent: string, base: string): Promise<void> {
  const mine = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(tmp|old)-(\\d+)-[0-9a-f]+$`);
  for (const name of await readdir(parent)) {
    const pid = Number(mine.exec(name)?.[2]);
    if (pid && !isAlive(pid)) await rm(path.join(parent, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/** `dir` resolved through symlinks where it exists (absolute either way). */
async function realTarget(dir: string): Promise<string> {
  return realpath(dir).catch(() => path.resolve(dir));
}

/**
 * Writes a file whole or not at all: a temporary file in the same folder, renamed over `file` (a
 * reader, or a crash, never sees half a file, and an older file stays until the new one is complete).
 */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = path.dirname(d)) {
    if (await stat(d).then(() => true, () => false)) return d;
    if (path.dirname(d) === d) return d;
  }
}
