import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { lastValueFrom, tap } from 'rxjs';
import { InputError } from '../../sdk/errors.ts';
import type { GenerationEvent, OutputItem } from '../../sdk/generation/GenerationEvent.ts';
import { readImageFile } from '../../sdk/image/codec.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { openBackend } from '../../sdk/openBackend.ts';
import { exportResult } from '../../sdk/output/exportFolder.ts';
import { checkOutputFolder } from '../../sdk/output/outputFolder.ts';
import type { EmuSession } from '../../sdk/session/EmuSession.ts';
import { readToken } from './cliArgs.ts';
import { DEFAULT_MODEL_DIR } from './cliModel.ts';

const HELP = `usage: emu explore [--model DIR | --backend URL] [--image FRAME] [--prompt TEXT] [--seed N]
                   [--max-new-tokens N] [--walk N] [--drop-oldest] [--out DIR]

An exploration session that keeps its context: each line you type is a command (the model answers
with the new view and a narration); the views and the growing story are written to --out
(story.pb, index.html, PNGs) after every step. Lines may come from a terminal or a pipe.
emu-nano knows four camera commands: look left, look right, look up, look down. Its sessions are
one long answer that each command continues, re-anchored on the newest view every 5 views (what it
was trained on); a model whose manifest says so takes each command as a new user turn instead.

  :walk N        let the model walk on its own for N steps
  :fork          keep a checkpoint of the current state (a branch point)
  :back          return to the last checkpoint (drops what came after it)
  :save [DIR]    write the story now (to DIR, default --out)
  :quit          end (also end of input, Ctrl-D)

  --model DIR       model folder (default models/emu-nano)    --backend URL   a remote engine (ws://, nats://)
  --image FRAME     the starting view (PNG/JPEG)                --prompt TEXT   put before the first command
  --walk N          start with N free steps                     --drop-oldest   keep walking past the context
  --max-new-tokens N  per step (default: the task preset)       --out DIR       default ./emu-out/explore-<time>`;

interface Story {
  question: string;
  references: RgbImage[];
  output: OutputItem[];
}

/** `emu explore …`: reads commands line by line until :quit or the end of input. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      backend: { type: 'string' },
      'token-file': { type: 'string' },
      image: { type: 'string' },
      prompt: { type: 'string', default: '' },
      seed: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      walk: { type: 'string' },
      'drop-oldest': { type: 'boolean', default: false },
      out: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.model && values.backend) throw new InputError('input_invalid', 'pass --model DIR or --backend URL, not both');
  const int = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InputError('input_invalid', `${flag} expects a whole number, got '${v}'`);
    return n;
  };
  const walk = int(values.walk, '--walk');
  const maxNewTokens = int(values['max-new-tokens'], '--max-new-tokens');
  const out = values.out ?? path.join('emu-out', `explore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await checkOutputFolder(out);
  const image = values.image ? await readImageFile(values.image) : undefined;
  const token = values['token-file'] ? await readToken(values['token-file']) : undefined;
  const backend = await openBackend(values.backend ?? values.model ?? DEFAULT_MODEL_DIR, { ...(token ? { token } : {}), ...(values.threads ? { threads: int(values.threads, '--threads')! } : {}), log: (l) => console.error(l) });
  try {
    if (!backend.openSession) throw new InputError('input_invalid', `the backend '${backend.modelName}' has no sessions`);
    let session: EmuSession = await backend.openSession({
      task: 'explore',
      images: image ? [image] : [],
      prompt: values.prompt,
      ...(values.seed !== undefined ? { seed: int(values.seed, '--seed')! } : {}),
      ...(maxNewTokens !== undefined ? { sampling: { maxNewTokens } } : {}),
      ...(values['drop-oldest'] ? { contextFull: 'drop-oldest' as const } : {}),
    });
    const story: Story = { question: values.prompt, references: image ? [image] : [], output: [] };
    const checkpoints: Array<{ session: EmuSession; items: number }> = [];
    const save = async (dir = out) => {
      const files = await exportResult(dir, story);
      return files.htmlFile;
    };
    const runStep = async (command: string, events: import('rxjs').Observable<GenerationEvent>) => {
      const done = await lastValueFrom(events.pipe(tap((e) => e.type === 'text.delta' && process.stdout.write(e.text))));
      if (done.type !== 'done') return;
      story.output.push({ type: 'text', text: command ? `> ${command}` : '> (the model walks on)' }, ...done.output);
      const views = done.output.filter((o) => o.type === 'image').length;
      const html = await save();
      console.log(`\n[step ${session.turns}: ${views} view(s), ${done.usage.generatedTokens} tokens in ${(done.usage.timings.totalMs / 1000).toFixed(2)} s; context ${session.length} positions${session.dropped ? `, ${session.dropped} earlier turns/views dropped` : ''}] ${html}`);
    };
    const walkSteps = async (n: number) => {
      for (let i = 0; i < n; i++) await runStep('', session.step(''));
    };
    if (walk) await walkSteps(walk);
    const lines = createInterface({ input: process.stdin, terminal: false });
    if (process.stdin.isTTY) process.stdout.write('> ');
    for await (const raw of lines) {
      const line = raw.trim();
      try {
        if (line === ':quit') break;
        else if (line.startsWith(':walk')) await walkSteps(int(line.split(/\s+/)[1] ?? '1', ':walk') ?? 1);
        else if (line === ':fork') {
          checkpoints.push({ session: session.fork(), items: story.output.length });
          console.log(`[checkpoint ${checkpoints.length} at step ${session.turns}]`);
        } else if (line === ':back') {
          const cp = checkpoints.pop();
          if (!cp) console.log('[no checkpoint: :fork first]');
          else {
            session.close();
            session = cp.session;
            story.output.length = cp.items;
            console.log(`[back at step ${session.turns}] ${await save()}`);
          }
        } else if (line.startsWith(':save')) console.log(`[saved] ${await save(line.split(/\s+/)[1] || out)}`);
        else if (line.startsWith(':')) console.log(`[unknown command ${line.split(/\s+/)[0]}: :walk N, :fork, :back, :save [DIR], :quit]`);
        else if (line) await runStep(line, session.step(line));
      } catch (err) {
        // A failed step leaves the session as it was: say why and take the next command.
        const e = err as { code?: string; message?: string };
        console.error(`[${e.code ?? 'error'}] ${e.message ?? String(err)}`);
      }
      if (process.stdin.isTTY) process.stdout.write('> ');
    }
    lines.close();
    console.log(`[${session.turns} steps] ${await save()}`);
    return 0;
  } finally {
    await backend.close();
  }
}
