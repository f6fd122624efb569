import type { Slot } from '../world/Layout.ts';

/** An action sentence, and the slot the text says its block lands on (story narrations may name it). */
export interface NarratedAction {
  subgoal: string;
  to?: Slot;
}

/**
 * A story narration as the subgoal it narrates:
 * "the robot stacked the red block on the blue block, to row 3 column 4." →
 * { subgoal: "stack the red block on the blue block", to: { r: 3, c: 4 } }.
 */
export function parseNarration(text: string): NarratedAction {
  const sentence = text.trim().replace(/^the robot /i, '').replace(/[.!]$/, '');
  const named = /,? to row (\d+) column (\d+)$/.exec(sentence);
  const subgoal = (named ? sentence.slice(0, named.index) : sentence).replace(/^stacked /, 'stack ').replace(/^moved /, 'move ');
  return named ? { subgoal, to: { r: Number(named[1]), c: Number(named[2]) } } : { subgoal };
}
