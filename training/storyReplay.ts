/**
 * On-policy story drills: stories the model tells itself, with the simulator's frames.
 *
 * Free-running, the story task draws the image after its second action right in about two thirds of the
 * stories whose earlier images were all right; teacher-forced on the export's stories the same images are
 * right nine times in ten. The difference is what the model chooses to narrate: its own scenes and actions
 * (the sampling preset keeps its favourites) are not the export's uniform mix. This replays the model's
 * own stories through the simulator: its opening scene (where the opening image is the described scene),
 * each narrated action applied to the true previous state, and the true state after it as the frame. A
 * narration that is impossible in the true state is replaced by a random legal action (sim/tasks/replayStory.ts).
 * Openings in the held-out split are skipped; the sampling seeds never overlap the bench's (0…count−1).
 *
 *   node --import tsx training/storyReplay.ts --count 3000 --seed 100000 [--model DIR] --out training/data/drill/replay.jsonl
 *
 * training/nano/drill.py --task replay turns the lines into token sequences, as it does story drills.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_MODEL_DIR } from '../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../sdk/OnnxBackend.ts';
import { collect } from '../sdk/tasks.ts';
import { ProgressBar } from '../bin/cli/ProgressBar.ts';
import { perceiveLayout } from '../sim/perception/perceiveLayout.ts';
import { replayStory } from '../sim/tasks/replayStory.ts';
import { STORY_INSTRUCTION } from '../sim/tasks/taskExamples.ts';
import { DRILL } from './paths.ts';

const Args = z.object({
  count: z.coerce.number().int().positive(),
  seed: z.coerce.number().int().min(1000, 'seeds below 1000 overlap the bench'),
  model: z.string(),
  out: z.string(),
});
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '100000' },
    model: { type: 'string', default: DEFAULT_MODEL_DIR },
    out: { type: 'string', default: path.join(DRILL, 'replay.jsonl') },
  },
});
const args = Args.parse(values);

const backend = await OnnxBackend.load(args.model, { threads: 1 });
const bar = new ProgressBar('story replays');
const lines: string[] = [];
const skipped: Record<string, number> = {};
let replaced = 0;
let wrong = 0;
let actions = 0;
for (let i = 0; i < args.count; i++) {
  const seed = args.seed + i;
  const { output } = await collect(backend.generate({ task: 'story', prompt: STORY_INSTRUCTION, images: [], seed }));
  const texts = output.flatMap((o) => (o.type === 'text' ? [o.text.trim()] : []));
  const layouts = output.flatMap((o) => (o.type === 'image' && o.image ? [perceiveLayout(o.image)] : []));
  const r = replayStory(texts, layouts, seed);
  if (typeof r === 'string') skipped[r] = (skipped[r] ?? 0) + 1;
  else {
    // whether the model told this story right (every image the true state, no narration replaced): drill.py may score only these narrations
    lines.push(JSON.stringify({ seed, instruction: STORY_INSTRUCTION, output: r.output, toldRight: r.replaced === 0 && r.imagesNotTrue === 0 }));
    replaced += r.replaced;
    wrong += r.imagesNotTrue;
    actions += texts.length - 1;
  }
  bar.update(i + 1, args.count);
}
await backend.close();
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, lines.join('\n') + '\n');
console.log(JSON.stringify({ replays: lines.length, actions, replacedNarrations: replaced, modelImagesNotTheTrueState: wrong, skipped, out: args.out }));
