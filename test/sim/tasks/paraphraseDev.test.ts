import assert from 'node:assert/strict';
import { BOWL_NOUNS, COLOUR_WORDS, paraphraseDev } from '../../../sim/tasks/paraphraseDev.ts';
import { BLOCK_COLOURS, type BlockColour } from '../../../sim/world/colours.ts';
import { Prng } from '../../../sim/world/Prng.ts';

const SHAPES: Record<string, string> = {
  place: 'put the red block in the blue bowl',
  stack: 'stack the green block on the yellow block',
  moveLeft: 'move the purple block to the left of the green bowl',
  moveRight: 'move the orange block to the right of the red block',
  moveAbove: 'move the yellow block above the blue bowl',
  moveBelow: 'move the blue block below the orange block',
  sort: 'sort the blocks into the bowls of matching colour',
  tower2: 'build a tower with the red block at the bottom and the green block on top',
  tower3: 'build a tower with the yellow block at the bottom, the purple block in the middle and the orange block on top',
  and: 'put the red block in the green bowl and stack the blue block on the yellow block',
  andMove: 'put the green block in the red bowl and move the purple block below the blue bowl',
  then3: 'put the red block in the blue bowl, then stack the green block on the red block, then move the orange block to the right of the green bowl',
  then4: 'build a tower with the blue block at the bottom and the red block on top, then sort the blocks into the bowls of matching colour, then put the yellow block in the green bowl, then move the purple block above the red block',
};

/** Every colour word of the module's table, longest first so "navy blue" wins over "navy". */
const WORD_TO_COLOUR = new Map<string, BlockColour>(BLOCK_COLOURS.flatMap((c) => COLOUR_WORDS[c].map((w) => [w, c] as const)));
const COLOUR_RE = new RegExp(
  `(?<![a-z])(${[...WORD_TO_COLOUR.keys()].sort((a, b) => b.length - a.length).join('|')})(?![a-z])`,
  'gi',
);

/** The colours named in a text, in order of appearance. */
function coloursIn(text: string): BlockColour[] {
  return [...text.matchAll(COLOUR_RE)].map((m) => WORD_TO_COLOUR.get(m[1]!.toLowerCase())!);
}

const canonicalParts = (goal: string) => goal.split(/, then | and (?=put|place|stack|move)/);
const sorted = (cs: readonly string[]) => [...cs].sort();
const SEEDS = Array.from({ length: 200 }, (_, i) => i);

describe('paraphraseDev', () => {
  it('is deterministic per rng state', () => {
    for (const goal of Object.values(SHAPES)) {
      for (const seed of [0, 1, 17]) {
        assert.equal(paraphraseDev(goal, Prng.from('x', seed)), paraphraseDev(goal, Prng.from('x', seed)));
      }
    }
  });

  it('returns text outside the canonical grammar unchanged', () => {
    assert.equal(paraphraseDev('do a little dance', Prng.from('x', 1)), 'do a little dance');
  });

  for (const [name, goal] of Object.entries(SHAPES)) {
    it(`${name}: almost always differs from the input and varies across seeds`, () => {
      const outs = SEEDS.map((seed) => paraphraseDev(goal, Prng.from('x', seed)));
      const changed = outs.filter((o) => o.toLowerCase().replace(/[.!?]$/, '') !== goal).length;
      assert.ok(changed >= 196, `${changed}/200 differ from the input`);
      assert.ok(new Set(outs).size >= 180, `${new Set(outs).size}/200 distinct`);
      for (const o of outs) assert.ok(!/undefined|\s{2}|^\s|\s$/.test(o), `malformed: ${JSON.stringify(o)}`);
    });

    it(`${name}: every colour survives, exactly once per mention, and nothing is added`, () => {
      const want = sorted(coloursIn(goal));
      for (const seed of SEEDS) {
        const out = paraphraseDev(goal, Prng.from('x', seed));
        assert.deepEqual(sorted(coloursIn(out)), want, `${goal}\n→ ${out}`);
      }
    });
  }

  it('chains and conjunctions keep the order of their parts', () => {
    for (const goal of [SHAPES.and!, SHAPES.andMove!, SHAPES.then3!, SHAPES.then4!]) {
      const parts = canonicalParts(goal).map(coloursIn);
      for (const seed of SEEDS) {
        const out = paraphraseDev(goal, Prng.from('x', seed));
        const seen = coloursIn(out);
        let at = 0;
        for (const part of parts) {
          assert.deepEqual(sorted(seen.slice(at, at + part.length)), sorted(part), `${goal}\n→ ${out}`);
          at += part.length;
        }
      }
    }
  });

  it('keeps blocks and bowls apart: no bowl appears in a blocks-only goal, and bowl goals name one', () => {
    const bowlWord = new RegExp(`\\b(${BOWL_NOUNS.map(([, head]) => head).join('|')})`, 'i');
    for (const name of ['stack', 'moveRight', 'moveBelow', 'tower2', 'tower3']) {
      for (const seed of SEEDS) {
        const out = paraphraseDev(SHAPES[name]!, Prng.from('x', seed));
        assert.ok(!bowlWord.test(out), out);
      }
    }
    for (const name of ['place', 'moveLeft', 'moveAbove', 'sort']) {
      const named = SEEDS.filter((seed) => bowlWord.test(paraphraseDev(SHAPES[name]!, Prng.from('x', seed)))).length;
      assert.ok(named >= 180, `${name}: a bowl word in ${named}/200 (a typo may hide one)`);
    }
  });

  it('has several words for every colour', () => {
    for (const c of BLOCK_COLOURS) assert.ok(COLOUR_WORDS[c].length >= 6 && COLOUR_WORDS[c][0] === c, c);
  });
});
