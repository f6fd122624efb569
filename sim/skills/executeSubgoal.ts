import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import type { Layout } from '../world/Layout.ts';
import type { SimWorld } from '../world/SimWorld.ts';
import type { Action } from './Action.ts';
import { parseSubgoal } from './parseSubgoal.ts';
import { resolveAction, type SkillFailureReason } from './resolveAction.ts';

export type SkillResult =
  | { ok: true; action: Action; frame: RgbImage; layout: Layout }
  | { ok: false; reason: SkillFailureReason; message: string; action?: Action; frame: RgbImage; layout: Layout };

/**
 * The skill controller: parses one language subgoal, checks it, moves the gripper through the
 * transfer, lets the scene settle and reports. Never throws for a bad subgoal: it fails with a reason.
 *
 * @example executeSubgoal(world, 'place the red block into the blue bowl')
 */
export function executeSubgoal(world: SimWorld, subgoal: string): SkillResult {
  const action = parseSubgoal(subgoal);
  if (!action) {
    return { ok: false, reason: 'unknown_subgoal', message: `not a known subgoal: "${subgoal}" (see sim/GRAMMAR.md)`, ...snapshot(world) };
  }
  return executeAction(world, action);
}

/** Executes an already-parsed action (see `executeSubgoal`). */
export function executeAction(world: SimWorld, action: Action): SkillResult {
  const plan = resolveAction(world.layout, action);
  if (!plan.ok) return { ok: false, reason: plan.reason, message: plan.message, action, ...snapshot(world) };
  if (!plan.noop) {
    const { toppled } = world.transfer(plan.from, plan.to);
    if (toppled.length > 0) {
      return { ok: false, reason: 'toppled', message: `toppled: the ${toppled.join(', ')} block(s) fell over`, action, ...snapshot(world) };
    }
  }
  return { ok: true, action, ...snapshot(world) };
}

function snapshot(world: SimWorld): { frame: RgbImage; layout: Layout } {
  return { frame: world.render(), layout: world.layout };
}
