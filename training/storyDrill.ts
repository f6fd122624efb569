/**
 * Writes story drills (sim/tasks/taskExamples.ts makeStoryDrill) as JSON lines, frames as layouts:
 * training/nano/drill.py turns them into token sequences with the vision tokenizer's own codes.
 * The story task gets moves next to an object ("moved the red block above the blue bowl") wrong
 * far more often than puts and stacks; these stories draw their actions mostly from moves.
 *
 *   node --import tsx training/storyDrill.ts --count 30000 --out training/data/drill/story.jsonl [--kinds move:6,place:1,stack:1] [--named-slots]
 *
 * `--named-slots` ends each narration with the slot its block lands on (", to row 3 column 4"), as phase 14's trial
 * did (not shipped; the story export itself then needs the same narration).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ProgressBar } from '../bin/cli/ProgressBar.ts';
import { makeStoryDrill } from '../sim/tasks/taskExamples.ts';
import { DRILL } from './paths.ts';

const Kinds = z
  .string()
  .transform((s) => s.split(',').map((part) => part.split(':')))
  .pipe(z.array(z.tuple([z.enum(['place', 'stack', 'move']), z.string().regex(/^\d{1,2}$/, 'a weight 0-99').transform(Number)])).min(1));

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '30000' },
    out: { type: 'string', default: path.join(DRILL, 'story.jsonl') },
    kinds: { type: 'string', default: 'move:6,place:1,stack:1' },
    'named-slots': { type: 'boolean', default: false },
  },
});
const count = z.coerce.number().int().positive().parse(values.count);
const kinds = Kinds.parse(values.kinds).flatMap(([kind, weight]) => Array<typeof kind>(weight).fill(kind));
if (!kinds.length) throw new RangeError('--kinds: every weight is 0');

const bar = new ProgressBar('story drills');
const lines: string[] = [];
for (let seed = 0; seed < count; seed++) {
  const { instruction, output } = makeStoryDrill(seed, kinds, values['named-slots']);
  lines.push(JSON.stringify({ seed, instruction, output }));
  if (seed % 500 === 0 || seed === count - 1) bar.update(seed + 1, count);
}
mkdirSync(path.dirname(values.out!), { recursive: true });
writeFileSync(values.out!, lines.join('\n') + '\n');
console.log(`${count} story drills → ${values.out}`);
