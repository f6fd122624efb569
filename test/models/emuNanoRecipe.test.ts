import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { NANO_DIR } from './emuNanoModel.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// training/nano/dataset.py TRAIN_TASKS: the six tasks plus the training-only describe, cells, worlds, drill and replay forms.
const TRAIN_TASKS = ['vla', 't2i', 'x2i', 'story', 'howto', 'explore', 'describe', 'cells', 'worlds', 'drill', 'replay'] as const;
// Each token folder reproduce.sh builds holds the one before it plus one training-only form; the replay
// folders hold tokens-drill-w2 plus one round of on-policy story replays each (the `replay` form).
const TOKENS = ['tokens-aug', 'tokens-cells', 'tokens-worlds', 'tokens-drill', 'tokens-drill-w2', 'tokens-replay', 'tokens-replay2'] as const;
const FIRST_FOLDER_WITH = { cells: 'tokens-cells', worlds: 'tokens-worlds', drill: 'tokens-drill', replay: 'tokens-replay' } as const;

const SegmentSchema = z.strictObject({
  phase: z.string(),
  factorCodes: z.boolean().optional(),
  until: z.number().positive(),
  minutes: z.number().positive(),
  lr: z.number().positive().max(1e-2),
  warmup: z.number().int().nonnegative(),
  decayFrom: z.number().min(0).lt(1),
  tokens: z.enum(TOKENS),
  mix: z.partialRecord(z.enum(TRAIN_TASKS), z.number().positive()),
});
const RecipeSchema = z.object({ about: z.string(), segments: z.array(SegmentSchema).min(1) });

const recipe = RecipeSchema.parse(JSON.parse(readFileSync(path.join(ROOT, 'training/recipe.json'), 'utf8')));
const summary = JSON.parse(readFileSync(path.join(NANO_DIR, 'training-summary.json'), 'utf8')) as {
  wallMinutes: number;
  trainedWithCodeFactors?: number;
};

describe('training/recipe.json (the schedule reproduce.sh replays)', () => {
  it('orders its segments in time, each inside its own budget', () => {
    let last = 0;
    for (const [i, s] of recipe.segments.entries()) {
      assert.ok(last < s.until && s.until <= s.minutes, `segment ${i}: ${last} < ${s.until} <= ${s.minutes}`);
      last = s.until;
    }
  });

  it('gives every segment a mix of shares that sum to 1, each form only where its data is', () => {
    for (const [i, s] of recipe.segments.entries()) {
      const total = Object.values(s.mix).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, `segment ${i} sums to ${total}`);
      for (const [form, folder] of Object.entries(FIRST_FOLDER_WITH)) {
        if (s.mix[form as keyof typeof FIRST_FOLDER_WITH])
          assert.ok(TOKENS.indexOf(s.tokens) >= TOKENS.indexOf(folder), `segment ${i}: ${form} needs ${folder} or later`);
      }
    }
  });

  it('ends where the shipped model ended, factored exactly when the shipped model is', () => {
    const end = recipe.segments.at(-1)!.until;
    assert.ok(Math.abs(end - summary.wallMinutes) < 1, `recipe ends at ${end} min, the shipped run at ${summary.wallMinutes}`);
    const factoredAt = recipe.segments.findIndex((s) => s.factorCodes);
    assert.equal(factoredAt >= 0, Boolean(summary.trainedWithCodeFactors));
    assert.equal(recipe.segments.filter((s) => s.factorCodes).length, factoredAt >= 0 ? 1 : 0, 'one conversion');
    for (const s of recipe.segments.slice(factoredAt >= 0 ? factoredAt : recipe.segments.length))
      assert.ok(TOKENS.indexOf(s.tokens) >= TOKENS.indexOf('tokens-cells'), 'factored segments train on the cells data');
  });

  it('tells each round of story replays with the checkpoint that ends a segment, before any segment trains on them', () => {
    const script = readFileSync(path.join(ROOT, 'training/reproduce.sh'), 'utf8');
    const rounds = [...script.matchAll(/^replays (\S+) ([\d.]+) \d+ \S+/gm)].map((m) => ({ folder: `tokens-${m[1]}`, minute: Number(m[2]) }));
    for (const round of rounds) assert.ok(recipe.segments.some((s) => Math.abs(s.until - round.minute) < 1e-6), `${round.folder}: no segment ends at ${round.minute}`);
    for (const [i, s] of recipe.segments.entries()) {
      if (!s.tokens.startsWith('tokens-replay')) continue;
      const round = rounds.find((r) => r.folder === s.tokens);
      assert.ok(round, `segment ${i}: reproduce.sh builds no ${s.tokens}`);
      const start = i > 0 ? recipe.segments[i - 1]!.until : 0;
      assert.ok(round.minute <= start + 1e-6, `segment ${i} starts at ${start}, before its replays (minute ${round.minute})`);
    }
  });
});
