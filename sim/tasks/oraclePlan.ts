import { describeSubgoal } from '../skills/describeSubgoal.ts';
import type { Action } from '../skills/Action.ts';
import { resolveAction } from '../skills/resolveAction.ts';
import { moveTopBlock, type Layout } from '../world/Layout.ts';
import { actionFor, holds, type Predicate } from './predicates.ts';

export interface OracleStep {
  action: Action;
  subgoal: string;
  /** The layout after the step (logical simulation: what a settled physical transfer gives). */
  layout: Layout;
}

/**
 * The canonical decomposition: one action per predicate not yet true, in the predicates' order
 * (which the goal grammar fixes: stated order, sort by colour red→green→blue, towers bottom→top).
 * Stops at the first step that would be illegal.
 */
export function oraclePlan(layout: Layout, predicates: readonly Predicate[]): OracleStep[] {
  const steps: OracleStep[] = [];
  let state = layout;
  for (const p of predicates) {
    if (holds(state, p)) continue;
    const action = actionFor(p);
    const plan = resolveAction(state, action);
    if (!plan.ok) break;
    if (!plan.noop) state = moveTopBlock(state, plan.from, plan.to);
    steps.push({ action, subgoal: describeSubgoal(action), layout: state });
  }
  return steps;
}
