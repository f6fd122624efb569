import assert from 'node:assert/strict';
import { BLOCK_COLOURS, BOWL_COLOURS } from '../../../sim/world/colours.ts';
import { COLOUR_WORDS, paraphraseDev2 } from '../../../sim/tasks/paraphraseDev2.ts';
import { Prng } from '../../../sim/world/Prng.ts';

const SHAPES = [
  'put the red block in the blue bowl',
  'stack the green block on the yellow block',
  'move the purple block to the left of the red bowl',
  'move the orange block to the right of the green block',
  'move the yellow block above the blue bowl',
  'move the red block below the purple block',
  'sort the blocks into the bowls of matching colour',
  'build a tower with the red block at the bottom and the blue block on top',
  'build a tower with the orange block at the bottom, the yellow block in the middle and the green block on top',
  'put the red block in the blue bowl and stack the green block on the yellow block',
  'put the orange block in the green bowl, then move the purple block above the red bowl, then stack the blue block on the yellow block',
];

const WORD_COLOUR = new Map(Object.entries(COLOUR_WORDS).flatMap(([c, ws]) => ws.map((w) => [w, c] as const)));

/** Colour of every colour word in the text, in order of appearance. */
function colourSequence(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .flatMap((t) => (WORD_COLOUR.has(t) ? [WORD_COLOUR.get(t)!] : []));
}

const counts = (xs: readonly string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
};

/** A random part over two block colours (the first moves); a bowl, if any, reuses one of them. */
function randomPart(rng: Prng, blocks: readonly string[]): string {
  const [a, b] = blocks;
  const bowls = blocks.filter((c) => (BOWL_COLOURS as readonly string[]).includes(c));
  const rel = rng.pick(['to the left of', 'to the right of', 'above', 'below']);
  const r = rng.int(4);
  if (r === 0 && bowls.length > 0) return `put the ${a} block in the ${rng.pick(bowls)} bowl`;
  if (r === 1 && bowls.length > 0) return `move the ${a} block ${rel} the ${rng.pick(bowls)} bowl`;
  if (r === 2) return `move the ${a} block ${rel} the ${b} block`;
  return `stack the ${a} block on the ${b} block`;
}

describe('paraphraseDev2', () => {
  it('is deterministic per rng state', () => {
    for (const goal of SHAPES) {
      for (let seed = 0; seed < 20; seed++) {
        assert.equal(paraphraseDev2(goal, Prng.from('x', seed)), paraphraseDev2(goal, Prng.from('x', seed)));
      }
    }
  });

  it('returns non-canonical text unchanged', () => {
    for (const text of ['hello there', 'put the pink block in the blue bowl', 'put the red block in the yellow bowl', 'stack the red block on the blue bowl', '']) {
      assert.equal(paraphraseDev2(text, Prng.from('x', 1)), text);
    }
  });

  it('almost always rewords each shape, with many distinct outputs', () => {
    for (const goal of SHAPES) {
      const outs = Array.from({ length: 200 }, (_, seed) => paraphraseDev2(goal, Prng.from('x', seed)));
      const changed = outs.filter((o) => o !== goal).length;
      assert.ok(changed >= 196, `${goal}: only ${changed}/200 changed`);
      const distinct = new Set(outs).size;
      assert.ok(distinct >= (goal.startsWith('sort') ? 120 : 180), `${goal}: only ${distinct} distinct`);
    }
  });

  it('keeps every colour mention, nothing added', () => {
    for (const goal of SHAPES) {
      const want = counts(colourSequence(goal));
      for (let seed = 0; seed < 200; seed++) {
        const out = paraphraseDev2(goal, Prng.from('x', seed));
        assert.deepEqual(counts(colourSequence(out)), want, `${goal}\n  -> ${out}`);
      }
    }
  });

  it('keeps the order of the parts of chains and "and" goals', () => {
    const rng = Prng.from('chains', 0);
    for (let n = 0; n < 300; n++) {
      const colours = rng.shuffle(BLOCK_COLOURS);
      const k = 2 + rng.int(2);
      // Parts over disjoint colour pairs, so each colour word tells which part it came from.
      const parts = Array.from({ length: k }, (_, i) => randomPart(rng, colours.slice(2 * i, 2 * i + 2)));
      const goal = parts.reduce((acc, p) => `${acc}${rng.next() < 0.5 ? ', then ' : ' and '}${p}`);
      const partOf = new Map(parts.flatMap((p, i) => colourSequence(p).map((c) => [c, i] as const)));
      const out = paraphraseDev2(goal, Prng.from('x', n));
      const order = colourSequence(out).map((c) => partOf.get(c)!);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), `${goal}\n  -> ${out}`);
      assert.equal(new Set(order).size, k, `${goal}\n  -> ${out}`);
    }
  });

  it('keeps object kinds: bowls and blocks are still named', () => {
    for (let seed = 0; seed < 200; seed++) {
      const out = paraphraseDev2('move the red block to the left of the blue bowl', Prng.from('x', seed)).toLowerCase();
      assert.match(out, /bowl|dish|basin|container|pot/, out);
      assert.match(out, /left|west/, out);
    }
  });
});
