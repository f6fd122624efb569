import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { OracleSolver } from '../../planners/OraclePlanner.ts';
import { renderLayout } from '../render/renderLayout.ts';
import { oraclePlan } from '../tasks/oraclePlan.ts';
import { parseGoal } from '../tasks/parseGoal.ts';
import type { WorldView } from './WorldView.ts';

/**
 * The simulator's oracle over `view`'s true layout: parse the goal against it, plan canonically,
 * render keyframes at the frame's size.
 */
export function simOracleSolver(view: WorldView): OracleSolver {
  return (goal: string, frame: RgbImage) => {
    const layout = view.layout;
    const predicates = parseGoal(goal, layout);
    if (!predicates) return [];
    const size = { width: frame.width, height: frame.height };
    return oraclePlan(layout, predicates).map((s) => ({ instruction: s.subgoal, keyframe: renderLayout(s.layout, size) }));
  };
}
