import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SYSTEM_PYTHON, torchPython } from '../support/torchPython.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const SCRIPT = path.join(HERE, 'emu3_reference.py');
const STANDIN = path.join(HERE, 'standin');
const run = promisify(execFile);

/** The official Emu3.5 checkout: `$EMU35_SRC`, else `<repo>/../shared/emu35-src`, else `/work/shared/emu35-src`; undefined when none has the decoder. */
export function emu35SrcDir(): string | undefined {
  return [process.env.EMU35_SRC, path.resolve(REPO, '../shared/emu35-src'), '/work/shared/emu35-src']
    .filter((d): d is string => !!d)
    .find((d) => existsSync(path.join(d, 'src/emu3p5/modeling_emu3.py')));
}

/**
 * Why the official reference cannot run here (no torch, no official checkout), or undefined when it
 * can. Tests `this.skip()` on a reason; with `EMU_REQUIRE_TORCH=1` (CI) a missing piece throws.
 */
export function emu3ReferenceMissing(): string | undefined {
  const t = torchPython();
  if ('missing' in t) return t.missing;
  if (!emu35SrcDir()) {
    const why = 'the official Emu3.5 sources (shared/emu35-src, or $EMU35_SRC) are missing';
    if (process.env.EMU_REQUIRE_TORCH === '1') throw new Error(`EMU_REQUIRE_TORCH=1 but ${why}`);
    return why;
  }
  return undefined;
}

export interface Emu3ReferenceRequest {
  /** Checkpoint folder: config.json + safetensors (single or sharded), official tensor names. */
  hf: string;
  /** Token ids of the prefill (one forward, use_cache=True). */
  prompt: number[];
  /** Token ids fed one at a time through the KV cache after the prefill. */
  steps?: number[];
  /** When > 0, also this many argmax tokens decoded from the prompt by the official module. */
  greedy?: number;
  /** Default `emu35SrcDir()`. */
  emu35Src?: string;
  /** Default /usr/bin/python3. */
  python?: string;
}

export interface Emu3ReferenceResult {
  /** Logits of every prompt position, one row (length V) each. */
  prefill: Float32Array[];
  /** Logits after each KV-cached step, one row each. */
  steps: Float32Array[];
  greedy?: number[];
  V: number;
  /** The official model's state_dict names (all loaded strictly from the checkpoint). */
  parameters: string[];
  /** The attention class the layers used (always `Emu3Attention`, the eager one). */
  attention: string;
}

/** Runs the official Emu3.5 decoder (fp32, eager attention) through `emu3_reference.py`. */
export async function runEmu3Reference(request: Emu3ReferenceRequest): Promise<Emu3ReferenceResult> {
  const src = request.emu35Src ?? emu35SrcDir();
  if (!src) throw new Error('runEmu3Reference: no official Emu3.5 checkout (set EMU35_SRC)');
  const work = await mkdtemp(path.join(os.tmpdir(), 'emu3-reference-'));
  try {
    const requestFile = path.join(work, 'request.json');
    const out = path.join(work, 'logits.bin');
    const steps = request.steps ?? [];
    await writeFile(requestFile, JSON.stringify({ prompt: request.prompt, steps, ...(request.greedy ? { greedy: request.greedy } : {}) }));
    try {
      await run(request.python ?? SYSTEM_PYTHON, [SCRIPT, '--hf', request.hf, '--request', requestFile, '--out', out, '--emu35-src', src], {
        // One thread each: the tiny model gains nothing from more, and parallel runs then do not oversubscribe the cores.
        env: { OMP_NUM_THREADS: '1', ...process.env, PYTHONPATH: [STANDIN, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) },
        maxBuffer: 16 * 2 ** 20,
      });
    } catch (err) {
      const e = err as Error & { stderr?: string; code?: number };
      throw new Error(`emu3_reference.py failed (${e.code}): ${(e.stderr ?? e.message).trim().split('\n').slice(-8).join('\n')}`);
    }
    const meta = JSON.parse(await readFile(`${out}.json`, 'utf8')) as { S: number; V: number; steps: number; greedy?: number[]; parameters: string[]; attention: string };
    const raw = await readFile(out);
    const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const rows = meta.S + meta.steps;
    if (all.length !== rows * meta.V) throw new Error(`emu3_reference.py wrote ${all.length} floats, expected ${rows} × ${meta.V}`);
    const row = (i: number) => all.slice(i * meta.V, (i + 1) * meta.V);
    return {
      prefill: Array.from({ length: meta.S }, (_, i) => row(i)),
      steps: Array.from({ length: meta.steps }, (_, i) => row(meta.S + i)),
      ...(meta.greedy ? { greedy: meta.greedy } : {}),
      V: meta.V,
      parameters: meta.parameters,
      attention: meta.attention,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
