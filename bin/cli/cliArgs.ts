import { readFile } from 'node:fs/promises';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import { GridTupleSchema } from '../../sdk/generation/TaskRequest.ts';

/**
 * Text given inline or through a file: `--prompt TEXT` or `--prompt-file FILE`, where `-` for either
 * reads stdin. Long text must not travel on the command line (onnxruntime crashes on long ones, and
 * the kernel caps one argument at 128 KiB), so every command that takes user text offers both.
 * Undefined when neither is given.
 */
export async function textOrFile(inline: string | undefined, file: string | undefined, flags: { inline: string; file: string }): Promise<string | undefined> {
  if (inline !== undefined && file !== undefined) throw new InputError('input_invalid', `pass ${flags.inline} or ${flags.file}, not both`);
  if (inline === '-') return readTextFile('-', flags.inline);
  return file === undefined ? inline : readTextFile(file, flags.file);
}

/** A file's text, or stdin's for '-'; trailing newlines (an editor's, echo's) are not part of it. */
async function readTextFile(file: string, flag: string): Promise<string> {
  const text =
    file === '-'
      ? await readStdin()
      : await readFile(file, 'utf8').catch((err: unknown) => {
          throw new InputError('input_invalid', `cannot read ${flag} '${file}': ${(err as Error).message}`, { cause: err });
        });
  return text.replace(/\r?\n+$/, '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `RxC` (or `R*C`) → [rows, cols], within the request schema's grid bounds (so no huge grid is ever allocated). */
export function parseGrid(spec: string, flag: string): [number, number] {
  const m = /^(\d+)[x*](\d+)$/.exec(spec);
  if (!m) throw new InputError('input_invalid', `${flag} expects RxC (e.g. 45x45), got '${spec}'`);
  return parseOrThrow(GridTupleSchema, [Number(m[1]), Number(m[2])], `${flag} '${spec}'`);
}

/** A token from a file (first line, trimmed): tokens never travel on command lines, where `ps` shows them. */
export async function readToken(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: unknown) => {
    throw new InputError('input_invalid', `cannot read the token file '${file}': ${(err as Error).message}`, { cause: err });
  });
  const token = text.split(/\r?\n/)[0]!.trim();
  if (!token) throw new InputError('input_invalid', `the token file '${file}' is empty`);
  return token;
}
