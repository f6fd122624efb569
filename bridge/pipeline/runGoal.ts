import { map, Observable } from 'rxjs';
import type { Plan, Subgoal } from '../../planners/Plan.ts';
import { type ControllerFeedback, type ExecutorEvent, PlanExecutor, type PlanExecutorPolicy } from '../../planners/PlanExecutor.ts';
import type { Planner } from '../../planners/Planner.ts';
import { AbortError, EngineError, TruncatedError } from '../../sdk/errors.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { isCancellation } from './classifyError.ts';
import type { FrameSampler, StampedFrame } from './FrameSampler.ts';
import type { PendingWork } from './PendingWork.ts';
import { PlanAssembler } from './PlanAssembler.ts';
import type { Logger, StatusReporter } from './StatusReporter.ts';

/** One goal on its way through the pipeline, from the goal topic, the action or `submitGoal`. */
export interface GoalRequest {
  goal: string;
  controller: AbortController;
  onPlan?: (plan: Plan, current: Subgoal | undefined) => void;
  settle: (result: { plan?: Plan; error?: unknown }) => void;
}

/** What a goal's run needs from the pipeline around it. */
export interface GoalRunContext {
  planner: Planner;
  policy: PlanExecutorPolicy;
  nodeName: string;
  sampler: FrameSampler;
  /** Controller feedback; absent = plans are published and handed over, not followed. */
  feedback: Observable<ControllerFeedback> | undefined;
  status: StatusReporter;
  log: Logger;
  /** Handling an executor event (assembling, publishing) is pending work until it is done. */
  work: PendingWork;
  /** Goals accepted and not yet settled. */
  inFlight: { goals: number };
  publishPlan(plan: Plan, formed: Subgoal[]): Promise<void>;
}

let planSeq = 0;

/** The one place plan ids are minted: `<node>-<time base36>-<seq>`. */
export function mintPlanId(nodeName: string): string {
  return `${nodeName}-${Date.now().toString(36)}-${++planSeq}`;
}

/**
 * Runs one goal through the closed loop (`PlanExecutor`) and turns its events into published plans,
 * subgoals, status and the goal's settlement. The inner observable of the pipeline's `switchMap`:
 * its teardown (a newer goal) or the request's abort signal cancels the planner's work.
 */
export function runGoal(ctx: GoalRunContext, req: GoalRequest): Observable<void> {
  return new Observable<void>((subscriber) => {
    ctx.inFlight.goals += 1;
    ctx.status.setState('waiting_for_frame', { goal: req.goal });
    const stamped = new WeakMap<RgbImage, StampedFrame>();
    const frames = ctx.sampler.frames.pipe(map((f) => (stamped.set(f.image, f), f.image)));
    const following = ctx.feedback !== undefined;
    let finished = false;
    let assembler: PlanAssembler | undefined;
    // A plan's timing runs from when the executor starts planning it (stamped as the event goes out), not from its first snapshot.
    let since = now();
    let plan: Plan | undefined;
    let chain = Promise.resolve();

    const finish = (result: { plan?: Plan; error?: unknown }) => {
      if (finished) return;
      finished = true;
      ctx.inFlight.goals -= 1;
      if (result.error !== undefined) onPlanError(ctx, req, result.error);
      req.settle(result);
      subscriber.complete();
    };

    const handle = async (event: ExecutorEvent, at: { perf: number; epochMs: number }): Promise<void> => {
      if (finished) return;
      switch (event.type) {
        case 'planning':
          assembler = undefined;
          since = at;
          // The executor plans at once from the newest frame when there is one.
          if (ctx.sampler.latest) ctx.status.setState('planning', { goal: req.goal });
          return;
        case 'plan': {
          if (!assembler) {
            const frame = stamped.get(event.frame) ?? { image: event.frame, stamp: { sec: 0, nanosec: 0 }, frameId: '' };
            const planId = mintPlanId(ctx.nodeName);
            assembler = new PlanAssembler(planId, req.goal, ctx.planner.name, frame, since);
            ctx.status.setState('planning', { planId, goal: req.goal });
          }
          const { plan: next, formed } = await assembler.assemble(event.plan);
          plan = next;
          if (plan.complete && plan.truncated) {
            // The plan goes on as planned (a controller may use its first subgoals), but nobody may mistake it for whole.
            ctx.status.problem(`plan ${plan.planId}`, new TruncatedError(`cut off by the model's token budget after ${plan.subgoals.length} subgoal(s) (stop reason max_tokens); raise planner.sampling.maxNewTokens`));
          }
          // When following, the executor's `subgoal` event publishes the active subgoal next.
          await ctx.publishPlan(plan, event.plan.complete && following ? [] : formed);
          return req.onPlan?.(plan, formed.at(-1));
        }
        case 'subgoal': {
          plan = withStatuses(plan!, event.index);
          await ctx.publishPlan(plan, [plan.subgoals[event.index]!]);
          return req.onPlan?.(plan, plan.subgoals[event.index]);
        }
        case 'replan':
          ctx.log.info(`re-plan ${event.attempt} for '${req.goal.slice(0, 60)}': ${event.reason} (${event.detail})`);
          return;
        case 'finished':
          if (event.outcome === 'failed' || !plan) {
            return finish({ error: event.error ?? new EngineError(`could not carry out '${req.goal.slice(0, 60)}': ${event.detail}`) });
          }
          if (event.outcome === 'succeeded') {
            plan = withStatuses(plan, plan.subgoals.length);
            await ctx.publishPlan(plan, []);
          }
          ctx.status.count('plans_completed');
          ctx.status.setState('idle');
          return finish({ plan });
      }
    };

    const executor = new PlanExecutor(ctx.planner, ctx.policy);
    const sub = executor.run({ goal: req.goal, frames, ...(ctx.feedback ? { feedback: ctx.feedback } : {}) }).subscribe((event) => {
      const at = now();
      const end = ctx.work.begin();
      chain = chain.then(() => handle(event, at)).catch((error) => finish({ error })).finally(end);
    });
    const onAbort = () => {
      sub.unsubscribe();
      finish({ error: new AbortError('plan cancelled', { cause: req.controller.signal.reason }) });
    };
    req.controller.signal.addEventListener('abort', onAbort, { once: true });
    return () => {
      req.controller.signal.removeEventListener('abort', onAbort);
      sub.unsubscribe();
      if (!finished) onAbort();
    };
  });
}

function now(): { perf: number; epochMs: number } {
  return { perf: performance.now(), epochMs: Date.now() };
}

function onPlanError(ctx: GoalRunContext, req: GoalRequest, error: unknown): void {
  if (isCancellation(error)) {
    ctx.status.count('plans_cancelled');
    if (ctx.inFlight.goals === 0) ctx.status.setState('idle');
    return;
  }
  ctx.status.count('plans_failed');
  ctx.status.setState('error');
  ctx.status.problem(`plan for '${req.goal.slice(0, 60)}'`, error);
}

/** The plan with subgoals before `active` done, `active` active, the rest pending. */
function withStatuses(plan: Plan, active: number): Plan {
  return {
    ...plan,
    subgoals: plan.subgoals.map((s) => ({ ...s, status: s.index < active ? 'done' : s.index === active ? 'active' : 'pending' })),
  };
}
