import { InputError } from '../sdk/errors.ts';

/** Longest goal accepted by default. @unit characters */
export const MAX_GOAL_CHARS = 2000;

/**
 * The one goal rule, shared by the planner and the bridge (which checks before a new goal may
 * cancel the plan in flight): a string, non-empty once trimmed, at most `maxChars`. Returns the
 * trimmed goal or throws `input_invalid`.
 */
export function checkGoal(goal: unknown, maxChars: number = MAX_GOAL_CHARS): string {
  if (typeof goal !== 'string') throw new InputError('input_invalid', `goal must be a string, got ${goal === null ? 'null' : typeof goal}`);
  const trimmed = goal.trim();
  if (!trimmed) throw new InputError('input_invalid', 'goal is empty');
  if (trimmed.length > maxChars) throw new InputError('input_invalid', `goal has ${trimmed.length} characters, the limit is ${maxChars}`);
  return trimmed;
}
