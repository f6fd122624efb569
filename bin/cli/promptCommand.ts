import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InputError } from '../../sdk/errors.ts';
import { TaskNameSchema } from '../../sdk/model/ModelManifest.ts';
import { buildPrompts, type PromptImage } from '../../sdk/prompt/buildPrompts.ts';
import { parseGrid, textOrFile } from './cliArgs.ts';
import { loadTextModel } from './cliModel.ts';

const HELP = `usage: emu prompt --task TASK (--question TEXT | --question-file FILE|-) [--ranks FILE] [--model DIR]
                  [--image-grid RxC ...] [--image-codes FILE.json ...] [--decode]

Prints {"cond": [...], "uncond": [...]}: the conditional prompt ids and the CFG-negative ids for a task,
built from the model folder's templates (default: models/emu-nano/emu-model.json).

  --task TASK          t2i | x2i | story | howto | explore | vla
  --question TEXT      the user's question / instruction ('-' = read it from stdin)
  --question-file FILE read the question from FILE ('-' = stdin): for long text
  --ranks FILE         tiktoken ranks file (default: the model folder's)
  --model DIR          model folder (default: models/emu-nano; the real Emu3.5 is --model models/emu35)
  --image-grid RxC     a reference image of R rows × C columns of tokens (1..99 each), all code 0 (repeatable)
  --image-codes FILE   a reference image as a JSON grid of codebook indices [[…],[…]] (repeatable)
  --decode             also print the prompts as text (cond_text, uncond_text)
  -h, --help           this text
Reference images go in order: all --image-codes first, then --image-grid.
Encoding real pictures needs the vision encoder ONNX; use \`emu generate\` for that.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      question: { type: 'string' },
      'question-file': { type: 'string' },
      ranks: { type: 'string' },
      model: { type: 'string' },
      'image-grid': { type: 'string', multiple: true, default: [] },
      'image-codes': { type: 'string', multiple: true, default: [] },
      decode: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const question = await textOrFile(values.question, values['question-file'], { inline: '--question', file: '--question-file' });
  if (!values.task || question === undefined) {
    console.error(HELP);
    return 2;
  }
  const task = TaskNameSchema.safeParse(values.task);
  if (!task.success) throw new InputError('unknown_task', `Unknown task '${values.task}' (expected ${TaskNameSchema.options.join(', ')})`);
  const images = [...(await Promise.all(values['image-codes'].map(readCodeGrid))), ...values['image-grid'].map(zeroGrid)];
  const { manifest, tokenizer } = await loadTextModel(values.model, values.ranks);
  const { cond, uncond } = buildPrompts({ manifest, tokenizer, task: task.data, question, images });
  const out: Record<string, unknown> = { cond, uncond };
  if (values.decode) Object.assign(out, { cond_text: tokenizer.decode(cond), uncond_text: tokenizer.decode(uncond) });
  console.log(JSON.stringify(out));
  return 0;
}

function zeroGrid(spec: string): PromptImage {
  const [rows, cols] = parseGrid(spec, '--image-grid');
  return { rows, cols, codes: new Array<number>(rows * cols).fill(0) };
}

async function readCodeGrid(file: string): Promise<PromptImage> {
  const grid: unknown = JSON.parse(await readFile(file, 'utf8'));
  const ok = Array.isArray(grid) && grid.length > 0 && grid.every((r) => Array.isArray(r) && r.length === (grid[0] as unknown[]).length && r.every((c) => Number.isInteger(c) && c >= 0));
  if (!ok) throw new InputError('input_invalid', `${file}: expected a non-empty rectangular JSON grid of codebook indices`);
  const rows = grid as number[][];
  return { rows: rows.length, cols: rows[0]!.length, codes: rows.flat() };
}
