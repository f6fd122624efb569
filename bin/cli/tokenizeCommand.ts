import { parseArgs } from 'node:util';
import { InputError } from '../../sdk/errors.ts';
import { TiktokenTokenizer } from '../../sdk/tokenizer/TiktokenTokenizer.ts';
import { textOrFile } from './cliArgs.ts';
import { loadTextModel } from './cliModel.ts';

const HELP = `usage: emu tokenize [--ranks FILE] [--model DIR] [--special emu35|none] [--decode] (TEXT... | --text-file FILE|-)

Prints the token ids of TEXT as JSON (special and visual token strings are parsed as single tokens).
TEXT '-' reads stdin.

  --ranks FILE     tiktoken ranks file (default: the model folder's)
  --model DIR      model folder whose emu-model.json gives the special tokens (default: models/emu-nano; the real Emu3.5 is --model models/emu35)
  --special NAME   emu35 (default): the model's special + visual tokens; none: plain BPE
  --decode         TEXT is a list of ids (JSON array or comma separated); print the decoded string as JSON
  --text-file FILE read TEXT from FILE ('-' = stdin) instead of the command line: for long text
  -h, --help       this text`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ranks: { type: 'string' },
      model: { type: 'string' },
      special: { type: 'string', default: 'emu35' },
      decode: { type: 'boolean', default: false },
      'text-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const text = await textOrFile(positionals.length > 0 ? positionals.join(' ') : undefined, values['text-file'], { inline: 'TEXT', file: '--text-file' });
  if (text === undefined) {
    console.error(HELP);
    return 2;
  }
  const tokenizer = await makeTokenizer(values.special, values.ranks, values.model);
  console.log(JSON.stringify(values.decode ? tokenizer.decode(parseIds(text)) : tokenizer.encode(text)));
  return 0;
}

async function makeTokenizer(special: string, ranks: string | undefined, model: string | undefined): Promise<TiktokenTokenizer> {
  if (special === 'none') {
    if (!ranks) throw new InputError('input_invalid', '--special none needs --ranks FILE');
    return TiktokenTokenizer.fromFile(ranks, []);
  }
  if (special !== 'emu35') throw new InputError('input_invalid', `--special must be emu35 or none, got '${special}'`);
  return (await loadTextModel(model, ranks)).tokenizer;
}

function parseIds(text: string): number[] {
  const ids = text.trim().startsWith('[') ? (JSON.parse(text) as unknown[]) : text.split(/[\s,]+/).filter(Boolean);
  return ids.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InputError('input_invalid', `--decode: '${String(v)}' is not a token id`);
    return n;
  });
}
