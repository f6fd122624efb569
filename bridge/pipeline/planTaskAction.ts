import type { Plan, Subgoal } from '../../planners/Plan.ts';
import { planToRos, subgoalToRos } from '../messages/planToRos.ts';
import { type PlanTaskFeedback, PlanTaskGoalSchema, type PlanTaskResult } from '../messages/rosTypes.ts';
import type { ActionContext } from '../transports/Transport.ts';
import type { GoalRequest } from './runGoal.ts';

/** Submits a goal; returns the reason it was refused, or undefined when accepted. */
export type AcceptGoal = (goal: unknown, controller: AbortController, settle: GoalRequest['settle'], onPlan?: GoalRequest['onPlan']) => Error | undefined;

/**
 * The `PlanTask` action over the pipeline: the goal's instruction is submitted like a topic goal,
 * every plan update goes back as feedback (the partial plan and the current subgoal), the final plan
 * is the result, and a cancel aborts the plan.
 */
export function planTaskAction(accept: AcceptGoal) {
  return (raw: unknown, ctx: ActionContext): Promise<PlanTaskResult> =>
    new Promise((resolve, reject) => {
      const parsed = PlanTaskGoalSchema.safeParse(raw);
      const controller = new AbortController();
      ctx.signal.addEventListener('abort', () => controller.abort(ctx.signal.reason), { once: true });
      const onPlan = (plan: Plan, current: Subgoal | undefined) => {
        const cur = current ?? plan.subgoals[0] ?? { index: 0, instruction: '', status: 'pending' as const };
        ctx.feedback({ partial_plan: planToRos(plan), current_subgoal: subgoalToRos(plan, cur) } satisfies PlanTaskFeedback);
      };
      const refused = accept(parsed.success ? parsed.data.instruction : raw, controller, (r) => (r.plan ? resolve({ plan: planToRos(r.plan) }) : reject(r.error)), onPlan);
      if (refused) reject(refused);
    });
}
