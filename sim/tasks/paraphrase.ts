import type { Prng } from '../world/Prng.ts';

/**
 * The held-out wording family of the `paraphrase` suite (sim/GRAMMAR.md, "Paraphrases"): words and
 * shapes the training data never uses. Each goal gets, from its own PRNG: synonyms for colours and
 * objects, a reordered clause or a passive form, a politeness wrapper, and at most one typo.
 */
const COLOUR_SYNONYMS: Record<string, readonly string[]> = {
  red: ['crimson', 'scarlet'],
  green: ['emerald', 'lime'],
  blue: ['azure', 'navy'],
  yellow: ['golden', 'lemon'],
  purple: ['violet', 'lilac'],
  orange: ['amber', 'tangerine'],
};
const BLOCK_SYNONYMS = ['cube', 'brick'];
const BOWL_SYNONYMS = ['dish', 'basin'];
const POLITE = [(s: string) => `could you please ${s}`, (s: string) => `${s}, thanks`, (s: string) => `i would like you to ${s}`, (s: string) => `kindly ${s}`];

export function paraphraseGoal(goal: string, rng: Prng): string {
  const parts = goal.split(', then ');
  let text = parts.map((p) => reorder(p, rng)).join(rng.next() < 0.5 ? ', then ' : ', after that ');
  text = text.replace(/\b(red|green|blue|yellow|purple|orange)\b/g, (c) => (rng.next() < 0.6 ? rng.pick(COLOUR_SYNONYMS[c]!) : c));
  text = text.replace(/\bblock\b/g, () => (rng.next() < 0.5 ? rng.pick(BLOCK_SYNONYMS) : 'block'));
  text = text.replace(/\bbowl\b/g, () => (rng.next() < 0.5 ? rng.pick(BOWL_SYNONYMS) : 'bowl'));
  if (rng.next() < 0.7) text = rng.pick(POLITE)(text);
  if (rng.next() < 0.5) text = typo(text, rng);
  // Every goal is reworded somehow.
  return text === goal ? rng.pick(POLITE)(text) : text;
}

/** A clause moved to the front, or the sentence made passive, where the shape allows it. */
function reorder(part: string, rng: Prng): string {
  const place = /^put the (\w+) block in the (\w+) bowl$/.exec(part);
  if (place && rng.next() < 0.6) return rng.next() < 0.5 ? `into the ${place[2]} bowl, put the ${place[1]} block` : `the ${place[1]} block goes in the ${place[2]} bowl`;
  const stack = /^stack the (\w+) block on the (\w+) block$/.exec(part);
  if (stack && rng.next() < 0.6) return `on top of the ${stack[2]} block, stack the ${stack[1]} block`;
  const move = /^move the (\w+) block (to the left of|to the right of|above|below) the (\w+) (block|bowl)$/.exec(part);
  if (move && rng.next() < 0.6) return `${move[2]} the ${move[3]} ${move[4]} is where the ${move[1]} block should go`;
  return part;
}

/** One adjacent-letter swap or a dropped letter in a word of five letters or more. */
function typo(text: string, rng: Prng): string {
  const words = text.split(' ');
  const long = words.map((w, i) => [w, i] as const).filter(([w]) => /^[a-z]{5,}$/.test(w));
  if (long.length === 0) return text;
  const [word, at] = rng.pick(long);
  const i = 1 + rng.int(word.length - 2);
  words[at] = rng.next() < 0.5 ? word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2) : word.slice(0, i) + word.slice(i + 1);
  return words.join(' ');
}
