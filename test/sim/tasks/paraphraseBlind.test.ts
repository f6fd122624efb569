import assert from 'node:assert/strict';
import { BLOCK_WORDS, BOWL_WORDS, COLOUR_WORDS, paraphraseBlind, RELATION_WORDS } from '../../../sim/tasks/paraphraseBlind.ts';
import { BLOCK_COLOURS, type BlockColour } from '../../../sim/world/colours.ts';
import { Prng } from '../../../sim/world/Prng.ts';

const SEEDS = 200;

/** One goal of every canonical shape. */
const SHAPES: readonly string[] = [
  'put the red block in the blue bowl',
  'stack the green block on the yellow block',
  'move the orange block to the left of the green bowl',
  'move the purple block to the right of the red block',
  'move the yellow block above the blue bowl',
  'move the red block below the orange block',
  'sort the blocks into the bowls of matching colour',
  'build a tower with the yellow block at the bottom and the purple block on top',
  'build a tower with the red block at the bottom, the green block in the middle and the blue block on top',
  'put the yellow block in the red bowl and stack the orange block on the purple block',
  'put the red block in the blue bowl, then stack the yellow block on the purple block, then move the orange block to the left of the green bowl',
  'sort the blocks into the bowls of matching colour, then build a tower with the yellow block at the bottom, the purple block in the middle and the orange block on top',
];

/** Chains whose parts use disjoint colours, so the colour order shows the part order. */
const ORDERED: readonly (readonly string[])[] = [
  ['put the yellow block in the red bowl', 'and', 'stack the orange block on the purple block'],
  ['put the red block in the blue bowl', 'then', 'stack the yellow block on the purple block', 'then', 'move the orange block to the left of the green bowl'],
  ['put the red block in the green bowl', 'and', 'move the yellow block below the blue bowl', 'then', 'build a tower with the purple block at the bottom and the orange block on top'],
  ['build a tower with the red block at the bottom, the green block in the middle and the blue block on top', 'then', 'move the yellow block above the orange block'],
  ['move the red block to the right of the green block', 'and', 'put the yellow block in the blue bowl', 'and', 'stack the purple block on the orange block'],
];

const COLOUR_OF = new Map<string, BlockColour>(BLOCK_COLOURS.flatMap((c) => COLOUR_WORDS[c].map((w) => [w, c] as const)));
const COLOUR_RE = new RegExp(
  `\\b(${[...COLOUR_OF.keys()].sort((a, b) => b.length - a.length).map((w) => w.replace(/[-]/g, '\\-')).join('|')})\\b`,
  'gi',
);

/** The colours a text names, in text order, each shade read back as its colour. */
function coloursIn(text: string): BlockColour[] {
  return [...text.matchAll(COLOUR_RE)].map((m) => COLOUR_OF.get(m[1]!.toLowerCase())!);
}

function chain(parts: readonly string[]): { goal: string; groups: BlockColour[][] } {
  let goal = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) goal += (parts[i] === 'then' ? ', then ' : ' and ') + parts[i + 1]!;
  const groups = parts.filter((_, i) => i % 2 === 0).map(coloursIn);
  return { goal, groups };
}

function outputs(goal: string, n = SEEDS): string[] {
  return Array.from({ length: n }, (_, s) => paraphraseBlind(goal, Prng.from('x', s)));
}

const sortedColours = (text: string): string => coloursIn(text).sort().join(',');

describe('paraphraseBlind', () => {
  it('is deterministic for the same PRNG state', () => {
    for (const goal of SHAPES) {
      for (let seed = 0; seed < 20; seed++) {
        assert.equal(paraphraseBlind(goal, Prng.from('x', seed)), paraphraseBlind(goal, Prng.from('x', seed)));
      }
    }
  });

  it('returns text that is not a canonical goal unchanged', () => {
    const rng = Prng.from('x', 1);
    for (const text of ['', 'hello there', 'put the pink block in the blue bowl', 'stack the red block on the blue bowl', 'put the red block in the blue bowl, then dance']) {
      assert.equal(paraphraseBlind(text, rng), text);
    }
  });

  it('almost always changes the wording, in many different ways', () => {
    for (const goal of SHAPES) {
      const outs = outputs(goal);
      const changed = outs.filter((o) => o !== goal).length;
      const distinct = new Set(outs).size;
      assert.ok(changed >= SEEDS * 0.97, `${goal}: only ${changed}/${SEEDS} changed`);
      assert.ok(distinct >= SEEDS * 0.75, `${goal}: only ${distinct}/${SEEDS} distinct`);
    }
  });

  it('keeps every colour, as one of its own words, the same number of times, adding none', () => {
    for (const goal of SHAPES) {
      const want = sortedColours(goal);
      for (const [seed, out] of outputs(goal).entries()) assert.equal(sortedColours(out), want, `seed ${seed}: ${goal}`);
    }
  });

  it('keeps the parts of "and" goals and chains in their order', () => {
    for (const parts of ORDERED) {
      const { goal, groups } = chain(parts);
      const partOf = new Map(groups.flatMap((g, i) => g.map((c) => [c, i] as const)));
      assert.equal(partOf.size, groups.flat().length, 'test goal colours are distinct');
      for (const [seed, out] of outputs(goal).entries()) {
        const order = coloursIn(out).map((c) => partOf.get(c)!);
        assert.ok(order.every((p, i) => i === 0 || p >= order[i - 1]!), `seed ${seed}: ${out}`);
        assert.equal(order.length, partOf.size, `seed ${seed}: ${out}`);
      }
    }
  });

  it('keeps the relation of a move, directly or as its converse', () => {
    const family: Record<string, RegExp> = {
      left: /\b(left|west)\b/i,
      right: /\b(right|east)\b/i,
      above: /\b(above|north|behind|far side|further from|further back|up from)\b/i,
      below: /\b(below|south|in front of|near side|closer|further forward|down from)\b/i,
    };
    const inverse: Record<string, string> = { left: 'right', right: 'left', above: 'below', below: 'above' };
    for (const rel of ['left', 'right', 'above', 'below']) {
      const where = rel === 'left' || rel === 'right' ? `to the ${rel} of` : rel;
      const goal = `move the red block ${where} the blue bowl`;
      let converse = 0;
      for (const out of outputs(goal)) {
        const direct = family[rel]!.test(out);
        const other = family[inverse[rel]!]!.test(out);
        assert.ok(direct !== other, `${rel}: ${out}`);
        if (other) converse++;
      }
      assert.ok(converse > 0 && converse < SEEDS / 3, `${rel}: ${converse} converse`);
    }
  });

  it('has disjoint colour tables and names blocks and bowls apart', () => {
    const words = Object.values(COLOUR_WORDS).flat();
    assert.equal(new Set(words).size, words.length);
    const blockHeads = new Set(BLOCK_WORDS.map(([, h]) => h));
    for (const [, head] of BOWL_WORDS) assert.ok(!blockHeads.has(head), head);
    for (const phrases of Object.values(RELATION_WORDS)) assert.ok(phrases.every((p) => p.includes('{x}')));
  });
});
