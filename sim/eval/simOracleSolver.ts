import { z } from 'zod';
import { parseOrThrow } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { OracleSolver } from '../../planners/OraclePlanner.ts';
import { renderLayout } from '../render/renderLayout.ts';
import { oraclePlan } from '../tasks/oraclePlan.ts';
import { parseGoal } from '../tasks/parseGoal.ts';
import { LayoutSchema, type Layout } from '../world/Layout.ts';

/** What the harness passes planners as `privileged`: the true (settled) layout. */
export const PrivilegedStateSchema = z.object({ layout: LayoutSchema });
export interface PrivilegedState {
  layout: Layout;
}

/** The simulator's oracle: parse the goal against the true layout, plan canonically, render keyframes at the frame's size. */
export const simOracleSolver: OracleSolver = (goal: string, privileged: unknown, frame: RgbImage) => {
  const { layout } = parseOrThrow(PrivilegedStateSchema, privileged, 'privileged simulator state') as PrivilegedState;
  const predicates = parseGoal(goal, layout);
  if (!predicates) return [];
  const size = { width: frame.width, height: frame.height };
  return oraclePlan(layout, predicates).map((s) => ({ instruction: s.subgoal, keyframe: renderLayout(s.layout, size) }));
};
