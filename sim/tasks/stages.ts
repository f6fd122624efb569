import type { Layout } from '../world/Layout.ts';
import { oraclePlan, type OracleStep } from './oraclePlan.ts';
import { allHold, type Predicate } from './predicates.ts';

/**
 * A goal judged part by part, in order (CALVIN's chains): `A, then B` succeeds when A's predicates all
 * held at some moment, and B's at the same moment or later. Unlike a judge of the final state, a later
 * part may undo an earlier one (a sorted block moved out again), so a chain can be longer than the
 * table has blocks to end somewhere.
 */
export class StageTracker {
  readonly #stages: readonly (readonly Predicate[])[];
  #matched = 0;

  constructor(stages: readonly (readonly Predicate[])[]) {
    this.#stages = stages;
  }

  /** Takes one moment of the trajectory (the start, then the layout after every change). */
  observe(layout: Layout): void {
    // Greedy earliest matching: a part that holds now counts now, and the next may hold at once too.
    while (this.#matched < this.#stages.length && allHold(layout, this.#stages[this.#matched]!)) this.#matched++;
  }

  /** Parts held so far, in order. */
  get matched(): number {
    return this.#matched;
  }

  /** Predicates of the parts held so far (a chain length in subgoals, as the oracle counts them). */
  get matchedPredicates(): number {
    return this.#stages.slice(0, this.#matched).reduce((n, s) => n + s.length, 0);
  }

  get done(): boolean {
    return this.#matched === this.#stages.length;
  }
}

/** The oracle's plan for a staged goal: each part's canonical plan from the layout the previous left. */
export function stagedOraclePlan(layout: Layout, stages: readonly (readonly Predicate[])[]): OracleStep[] {
  const steps: OracleStep[] = [];
  let state = layout;
  for (const stage of stages) {
    const part = oraclePlan(state, stage);
    steps.push(...part);
    if (part.length > 0) state = part.at(-1)!.layout;
    if (!allHold(state, stage)) break;
  }
  return steps;
}
