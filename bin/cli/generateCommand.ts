import path from 'node:path';
import { tap } from 'rxjs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import type { GenerationEvent, Truncation } from '../../sdk/generation/GenerationEvent.ts';
import { TaskRequestSchema, type TaskRequest } from '../../sdk/generation/TaskRequest.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { readImageFile } from '../../sdk/image/codec.ts';
import { TaskNameSchema, type TaskName } from '../../sdk/model/ModelManifest.ts';
import { openBackend } from '../../sdk/openBackend.ts';
import { DEVICES } from '../../sdk/runtime/devices.ts';
import { exportResult } from '../../sdk/output/exportFolder.ts';
import { checkOutputFolder } from '../../sdk/output/outputFolder.ts';
import { collect } from '../../sdk/tasks.ts';
import { parseGrid, readToken, textOrFile } from './cliArgs.ts';
import { DEFAULT_MODEL_DIR } from './cliModel.ts';

const HELP = `usage: emu generate --task TASK (--prompt TEXT | --prompt-file FILE|-) [--model DIR] [--image PNG ...]
                    [--seed N] [--out DIR] [--device cpu|cuda|webgpu] [--threads N] [--max-new-tokens N]
                    [--cfg S] [--aspect NAME] [--grid RxC] [--keep-partial] [--quiet]

Runs one task on an ONNX model folder, shows progress on stderr, writes the export folder
(texts, PNGs, story.pb, index.html) and prints its path.

  --task TASK            t2i | x2i | story | howto | explore | vla
  --prompt TEXT          the question / instruction ('-' = read it from stdin)
  --prompt-file FILE     read the prompt from FILE ('-' = stdin): for long prompts (command lines
                         over 16 KB are refused: onnxruntime crashes on them)
  --model DIR            model folder with emu-model.json (default: models/emu-nano; the real Emu3.5 is --model models/emu35)
  --backend URL          run on a remote engine instead: ws://host:port (\`emu serve\`) or nats://host:port
                         (\`emu worker\`s); token from --token-file or EMU_TOKEN
  --token-file FILE      the remote engine's token
  --image FILE           reference image (PNG/JPEG; repeatable, in order)
  --seed N               sampling seed (default: the model's, 6666)
  --out DIR              export folder (default: ./emu-out/<task>-<timestamp>); checked before the model
                         loads. The export is written whole and renamed into place: an earlier emu output
                         there is replaced (no stale files), a folder holding anything else is refused
  --device D             cpu (default), cuda or webgpu; falls back to cpu with a notice
  --threads N            onnxruntime intra-op threads (default: 1 on ≤ 4 cores)
  --max-new-tokens N     generation budget (default: the task preset, clipped to the context)
  --cfg S                classifier-free guidance scale (1 = off)
  --aspect NAME          t2i aspect preset (1:1, 4:3, …, auto)
  --grid RxC             explicit token grid for generated images
  --keep-partial         a generation cut off by the token budget is written, marked partial
                         (TRUNCATED.txt, and a note atop index.html), and exits 0; without it,
                         nothing is written and it exits 3
  --quiet                no progress line
  -h, --help             this text`;

const DeviceSchema = z.enum(DEVICES);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      prompt: { type: 'string' },
      'prompt-file': { type: 'string' },
      'keep-partial': { type: 'boolean', default: false },
      model: { type: 'string' },
      backend: { type: 'string' },
      'token-file': { type: 'string' },
      image: { type: 'string', multiple: true, default: [] },
      seed: { type: 'string' },
      out: { type: 'string' },
      device: { type: 'string', default: 'cpu' },
      threads: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      cfg: { type: 'string' },
      aspect: { type: 'string' },
      grid: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const prompt = await textOrFile(values.prompt, values['prompt-file'], { inline: '--prompt', file: '--prompt-file' });
  if (!values.task || prompt === undefined) {
    console.error(HELP);
    return 2;
  }
  const task = TaskNameSchema.safeParse(values.task);
  if (!task.success) throw new InputError('unknown_task', `unknown task '${values.task}' (expected ${TaskNameSchema.options.join(', ')})`);
  const device = DeviceSchema.safeParse(values.device);
  if (!device.success) throw new InputError('input_invalid', `--device must be one of ${DEVICES.join(', ')}, got '${values.device}'`);
  const images = await Promise.all(values.image.map((f) => readImageFile(f)));
  // The whole request is checked by its schema here, before the model loads (a bad --grid or --cfg fails at once).
  const request = parseOrThrow(TaskRequestSchema, requestOf(task.data, prompt, images, values), 'emu generate options');
  const out = values.out ?? path.join('emu-out', `${task.data}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await checkOutputFolder(out); // before the model loads: a bad --out fails in milliseconds, not after the generation

  if (values.backend && values.model) throw new InputError('input_invalid', 'pass --model DIR or --backend URL, not both');
  const token = values['token-file'] ? await readToken(values['token-file']) : undefined;
  const backend = await openBackend(values.backend ?? values.model ?? DEFAULT_MODEL_DIR, {
    device: device.data,
    threads: optionalInt(values.threads, '--threads'),
    log: (line) => console.error(line),
    ...(token ? { token } : {}),
  });
  try {
    const progress = new ProgressLine(values.quiet ? undefined : process.stderr);
    const result = await collect(backend.generate(request).pipe(tap((e) => progress.on(e))));
    progress.end(result.usage.generatedTokens, result.usage.timings.totalMs);
    const truncated = result.truncated ? truncationNote(result.usage.generatedTokens, result.truncated) : undefined;
    if (truncated && !values['keep-partial']) {
      console.error(`emu generate: [truncated] ${truncated}; nothing was written. Raise --max-new-tokens, or pass --keep-partial to keep what was generated`);
      return 3;
    }
    await exportResult(out, { question: prompt, references: images, output: result.output, ...(truncated ? { notes: { 'TRUNCATED.txt': `${truncated}\n` } } : {}) });
    if (truncated) console.error(`emu generate: [truncated] ${truncated}; partial output kept (--keep-partial)`);
    console.log(path.resolve(out));
    return 0;
  } finally {
    await backend.close();
  }
}

/** The request the flags describe (checked by TaskRequestSchema by the caller). */
function requestOf(task: TaskName, prompt: string, images: RgbImage[], values: Record<string, unknown>): TaskRequest {
  const str = (flag: string) => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);
  const maxNewTokens = optionalInt(str('max-new-tokens'), '--max-new-tokens');
  const cfg = str('cfg') === undefined ? undefined : Number(str('cfg'));
  const sampling = { ...(maxNewTokens !== undefined ? { maxNewTokens } : {}), ...(cfg !== undefined ? { cfg } : {}) };
  const grid = str('grid');
  return {
    task,
    prompt,
    images,
    seed: optionalInt(str('seed'), '--seed'),
    ...(Object.keys(sampling).length ? { sampling } : {}),
    ...(str('aspect') ? { aspect: str('aspect') } : {}),
    ...(grid ? { grid: parseGrid(grid, '--grid') } : {}),
  };
}

/** One carriage-returned status line on stderr: tokens so far and the current image's rows. */
class ProgressLine {
  #tokens = 0;
  #image = '';
  #stream: NodeJS.WriteStream | undefined;
  constructor(stream: NodeJS.WriteStream | undefined) {
    this.#stream = stream;
  }

  on(e: GenerationEvent): void {
    if (e.type === 'text.delta' || e.type === 'cot.delta') this.#tokens++;
    else if (e.type === 'image.start') this.#image = `image ${e.index + 1} ${'░'.repeat(Math.min(e.grid.rows, 40))} 0/${e.grid.rows}`;
    else if (e.type === 'image.progress') {
      const w = Math.min(e.rows, 40);
      const done = Math.round((e.rowsDone / e.rows) * w);
      this.#image = `image ${e.index + 1} ${'█'.repeat(done)}${'░'.repeat(w - done)} ${e.rowsDone}/${e.rows} rows`;
    } else return;
    this.#stream?.write(`\r\x1b[K${this.#tokens} text tokens  ${this.#image}`);
  }

  end(tokens: number, ms: number): void {
    this.#stream?.write(`\r\x1b[K${tokens} tokens in ${(ms / 1000).toFixed(1)} s\n`);
  }
}

/** Why a generation that hit its token budget is not what was asked for, and what it cut off. */
function truncationNote(tokens: number, t: Truncation): string {
  const img = t.image;
  const rows = img?.grid ? ` (${img.rowsDone} of ${img.grid.rows} rows drawn)` : '';
  const where = img ? ` inside image ${img.index + 1}${rows}, which is missing from the output` : '';
  return `the generation was cut off by the token budget after ${tokens} tokens${where} (stop reason ${t.reason})`;
}

function optionalInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InputError('input_invalid', `${flag} expects an integer, got '${v}'`);
  return n;
}
