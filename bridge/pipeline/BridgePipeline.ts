import { BehaviorSubject, filter, firstValueFrom, from, map, Observable, Subject, type Subscription, switchMap } from 'rxjs';
import { z } from 'zod';
import { type ControllerFeedback, type ExecutorEvent, PlanExecutor } from '../../planners/PlanExecutor.ts';
import { AbortError, EngineError, InputError, SdkError } from '../../sdk/errors.ts';
import type { Plan, Subgoal } from '../../planners/Plan.ts';
import type { Planner, PlanProgress } from '../../planners/Planner.ts';
import type { PlanUsage } from '../../planners/Plan.ts';
import { imageFromCompressedRos, imageFromRos } from '../messages/imageFromRos.ts';
import { planToRos, subgoalToRos } from '../messages/planToRos.ts';
import { CompressedImageMsgSchema, ImageMsgSchema, PlanTaskGoalSchema, type PlanTaskFeedback, type PlanTaskResult, StringMsgSchema } from '../messages/rosTypes.ts';
import type { TopicSpec, Transport } from '../transports/Transport.ts';
import type { BridgeConfig } from './BridgeConfig.ts';
import { FrameSampler, type StampedFrame } from './FrameSampler.ts';
import { PlanAssembler } from './PlanAssembler.ts';
import { consoleLogger, type Logger, StatusReporter } from './StatusReporter.ts';

/** One goal on its way through the pipeline, from a topic or from the action. */
interface GoalRequest {
  goal: string;
  controller: AbortController;
  onPlan?: (plan: Plan, current: Subgoal | undefined) => void;
  settle: (result: { plan?: Plan; error?: unknown }) => void;
}

export interface BridgePipelineOptions {
  transport: Transport;
  planner: Planner;
  config: BridgeConfig;
  log?: Logger;
}

/**
 * transport → frames (newest kept) + goals → planner → plans, subgoals and status back out.
 * A new goal cancels the plan in flight (the planner's backend work stops); bad input is counted,
 * logged once per reason, reported on the status topic, and never stops the node.
 *
 * @example
 * const pipeline = new BridgePipeline({ transport, planner, config }); pipeline.start();
 */
export class BridgePipeline {
  readonly #transport: Transport;
  readonly #planner: Planner;
  readonly #config: BridgeConfig;
  readonly #log: Logger;
  readonly #status: StatusReporter;
  readonly #sampler: FrameSampler;
  readonly #goals = new Subject<GoalRequest>();
  readonly #busy = new BehaviorSubject(0);
  readonly #topics: Record<'image' | 'compressedImage' | 'goal' | 'feedback' | 'plan' | 'subgoal' | 'status', TopicSpec>;
  readonly #feedback = new Subject<ControllerFeedback>();
  readonly #subs: Subscription[] = [];
  #seq = 0;

  constructor(options: BridgePipelineOptions) {
    this.#transport = options.transport;
    this.#planner = options.planner;
    this.#config = options.config;
    this.#log = options.log ?? consoleLogger;
    const { topics, qos } = this.#config;
    this.#topics = {
      image: { name: topics.image, type: 'sensor_msgs/msg/Image', qos: qos.image },
      compressedImage: { name: topics.compressedImage, type: 'sensor_msgs/msg/CompressedImage', qos: qos.image },
      goal: { name: topics.goal, type: 'std_msgs/msg/String', qos: qos.goal },
      feedback: { name: topics.feedback, type: 'std_msgs/msg/String', qos: qos.goal },
      plan: { name: topics.plan, type: 'emu_robotics_msgs/msg/Plan', qos: qos.plan },
      subgoal: { name: topics.subgoal, type: 'emu_robotics_msgs/msg/Subgoal', qos: qos.plan },
      status: { name: topics.status, type: 'emu_robotics_msgs/msg/BridgeStatus', qos: qos.status },
    };
    this.#status = new StatusReporter((msg) => this.#publish(this.#topics.status, msg), this.#log);
    this.#sampler = new FrameSampler((err) => this.#status.problem(this.#topics.compressedImage.name, err, 'frames_rejected'));
  }

  get status(): StatusReporter {
    return this.#status;
  }

  get sampler(): FrameSampler {
    return this.#sampler;
  }

  start(): void {
    const t = this.#transport;
    this.#subs.push(t.subscribe(this.#topics.image).subscribe((m) => this.#onImage(m)));
    if (this.#topics.compressedImage.name) this.#subs.push(t.subscribe(this.#topics.compressedImage).subscribe((m) => this.#onCompressed(m)));
    this.#subs.push(t.subscribe(this.#topics.goal).subscribe((m) => this.#onGoalMessage(m)));
    if (this.#topics.feedback.name) this.#subs.push(t.subscribe(this.#topics.feedback).subscribe((m) => this.#onFeedback(m)));
    if (t.problems) {
      this.#subs.push(
        t.problems.subscribe((p) => {
          const counter = p.topic === this.#topics.goal.name ? 'goals_rejected' : p.topic === this.#topics.image.name || p.topic === this.#topics.compressedImage.name ? 'frames_rejected' : undefined;
          this.#status.problem(p.topic, new InputError('input_invalid', p.reason), counter);
        }),
      );
    }
    t.serveAction?.(this.#config.topics.action, (goal, ctx) => this.#onActionGoal(goal, ctx));
    this.#subs.push(this.#goals.pipe(switchMap((req) => this.#run(req))).subscribe());
    this.#status.setState('idle');
  }

  /** Resolves when no plan is in flight: the replay gate for offline (lockstep) runs. */
  whenIdle(): Promise<void> {
    if (this.#busy.value === 0) return Promise.resolve();
    return firstValueFrom(this.#busy.pipe(filter((n) => n === 0))).then(() => undefined);
  }

  /** Cancels any plan in flight, publishes a last status with the final counters, and detaches. */
  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
    await this.#publish(this.#topics.status, this.#status.snapshot());
    this.#subs.length = 0;
    this.#goals.complete();
    this.#sampler.complete();
  }

  /** Submits a goal as if it came from the goal topic; resolves with the final plan. */
  submitGoal(goal: string, onPlan?: GoalRequest['onPlan']): Promise<Plan> {
    return new Promise((resolve, reject) => {
      const accepted = this.#accept(goal, new AbortController(), (r) => (r.plan ? resolve(r.plan) : reject(r.error)), onPlan);
      if (!accepted) reject(new InputError('input_invalid', 'goal rejected (see status)'));
    });
  }

  #onImage(raw: unknown): void {
    this.#status.count('frames_received');
    try {
      const msg = ImageMsgSchema.parse(raw);
      this.#sampler.offer({ image: imageFromRos(msg, this.#config.frames), stamp: msg.header.stamp, frameId: msg.header.frame_id });
    } catch (err) {
      this.#status.problem(this.#topics.image.name, asInputError(err), 'frames_rejected');
    }
  }

  #onCompressed(raw: unknown): void {
    this.#status.count('frames_received');
    const parsed = CompressedImageMsgSchema.safeParse(raw);
    if (!parsed.success) return this.#status.problem(this.#topics.compressedImage.name, asInputError(parsed.error), 'frames_rejected');
    const msg = parsed.data;
    this.#sampler.offerAsync(async (): Promise<StampedFrame> => ({
      image: await imageFromCompressedRos(msg, this.#config.frames),
      stamp: msg.header.stamp,
      frameId: msg.header.frame_id,
    }));
  }

  #onGoalMessage(raw: unknown): void {
    const parsed = StringMsgSchema.safeParse(raw);
    if (!parsed.success) {
      this.#status.count('goals_received');
      return this.#status.problem(this.#topics.goal.name, asInputError(parsed.error), 'goals_rejected');
    }
    this.#accept(parsed.data.data, new AbortController(), () => undefined);
  }

  #onActionGoal(raw: unknown, ctx: { signal: AbortSignal; feedback(f: PlanTaskFeedback): void }): Promise<PlanTaskResult> {
    return new Promise((resolve, reject) => {
      const parsed = PlanTaskGoalSchema.safeParse(raw);
      const goal = parsed.success ? parsed.data.instruction : '';
      const controller = new AbortController();
      ctx.signal.addEventListener('abort', () => controller.abort(ctx.signal.reason), { once: true });
      const onPlan = (plan: Plan, current: Subgoal | undefined) => {
        const msg = planToRos(plan);
        const cur = current ?? plan.subgoals[0];
        ctx.feedback({ partial_plan: msg, current_subgoal: cur ? subgoalToRos(plan, cur) : emptySubgoal(plan) });
      };
      const accepted = this.#accept(goal, controller, (r) => (r.plan ? resolve({ plan: planToRos(r.plan) }) : reject(r.error)), onPlan);
      if (!accepted) reject(new InputError('input_invalid', `goal rejected: ${this.#goalProblem(goal)}`));
    });
  }

  /** Validates a goal before it may cancel the plan in flight; a bad goal never displaces a good one. */
  #accept(goal: string, controller: AbortController, settle: GoalRequest['settle'], onPlan?: GoalRequest['onPlan']): boolean {
    this.#status.count('goals_received');
    const problem = this.#goalProblem(goal);
    if (problem) {
      this.#status.problem(this.#topics.goal.name, new InputError('input_invalid', problem), 'goals_rejected');
      return false;
    }
    this.#goals.next({ goal: goal.trim(), controller, settle, ...(onPlan ? { onPlan } : {}) });
    return true;
  }

  #goalProblem(goal: string): string | undefined {
    const trimmed = goal.trim();
    if (!trimmed) return 'goal is empty';
    const max = this.#config.planner.maxGoalChars;
    if (trimmed.length > max) return `goal has ${trimmed.length} characters, the limit is ${max}`;
    return undefined;
  }

  #onFeedback(raw: unknown): void {
    try {
      const text = StringMsgSchema.parse(raw).data;
      const fb = FeedbackSchema.parse(JSON.parse(text));
      this.#feedback.next(fb.status === 'done' ? { type: 'done', index: fb.index } : { type: 'failed', index: fb.index, ...(fb.reason ? { reason: fb.reason } : {}) });
    } catch (err) {
      this.#status.problem(this.#topics.feedback.name, asInputError(err));
    }
  }

  /** One goal: the inner observable of switchMap, whose teardown (a newer goal) aborts the work. */
  #run(req: GoalRequest): Observable<void> {
    return this.#topics.feedback.name ? this.#execute(req) : this.#planOnce(req);
  }

  #planOnce(req: GoalRequest): Observable<void> {
    return new Observable<void>((subscriber) => {
      let finished = false;
      this.#busy.next(this.#busy.value + 1);
      const done = (result: { plan?: Plan; error?: unknown }) => {
        if (finished) return;
        finished = true;
        this.#busy.next(this.#busy.value - 1);
        req.settle(result);
        subscriber.complete();
      };
      this.#plan(req).then(
        (plan) => done({ plan }),
        (error) => {
          this.#onPlanError(req, error);
          done({ error });
        },
      );
      return () => {
        if (!finished) req.controller.abort(new AbortError('superseded by a newer goal'));
      };
    });
  }

  /** Plans and follows the plan against controller feedback, re-planning as PlanExecutor decides. */
  #execute(req: GoalRequest): Observable<void> {
    return new Observable<void>((subscriber) => {
      this.#busy.next(this.#busy.value + 1);
      let finished = false;
      let assembler: PlanAssembler | undefined;
      let plan: Plan | undefined;
      let chain = Promise.resolve();
      const finish = (result: { plan?: Plan; error?: unknown }) => {
        if (finished) return;
        finished = true;
        this.#busy.next(this.#busy.value - 1);
        req.settle(result);
        subscriber.complete();
      };
      const handle = async (event: ExecutorEvent) => {
        if (finished) return;
        switch (event.type) {
          case 'planning': {
            const frame = this.#sampler.latest ?? (await abortable(this.#sampler.next(this.#config.frames.waitMs), req.controller.signal));
            const planId = `${this.#config.node.name}-${Date.now().toString(36)}-${++this.#seq}`;
            assembler = new PlanAssembler(planId, req.goal, this.#planner.name, frame);
            this.#status.setState('planning', { planId, goal: req.goal });
            return;
          }
          case 'plan': {
            const { plan: next, formed } = await assembler!.assemble(event.plan);
            plan = next;
            await this.#publishPlan(plan, event.plan.complete ? [] : formed);
            return req.onPlan?.(plan, formed.at(-1));
          }
          case 'subgoal': {
            plan = withStatuses(plan!, event.index);
            await this.#publishPlan(plan, [plan.subgoals[event.index]!]);
            return req.onPlan?.(plan, plan.subgoals[event.index]);
          }
          case 'replan':
            this.#log.info(`re-plan ${event.attempt} for '${req.goal.slice(0, 60)}': ${event.reason} (${event.detail})`);
            return;
          case 'finished':
            if (event.outcome === 'succeeded' && plan) {
              plan = withStatuses(plan, plan.subgoals.length);
              await this.#publishPlan(plan, []);
              this.#status.count('plans_completed');
              this.#status.setState('idle');
              return finish({ plan });
            }
            {
              const error = new EngineError(`could not carry out '${req.goal.slice(0, 60)}': ${event.detail}`);
              this.#onPlanError(req, error);
              return finish({ error });
            }
        }
      };
      const executor = new PlanExecutor(this.#planner, this.#config.replan);
      const sub = executor
        .run({ goal: req.goal, frames: this.#sampler.frames.pipe(map((f) => f.image)), feedback: this.#feedback })
        .subscribe((event) => {
          chain = chain.then(() => handle(event)).catch((error) => {
            this.#onPlanError(req, error);
            finish({ error });
          });
        });
      const onAbort = () => {
        sub.unsubscribe();
        if (!finished) {
          this.#onPlanError(req, new AbortError('plan cancelled', { cause: req.controller.signal.reason }));
          finish({ error: new AbortError('plan cancelled') });
        }
      };
      req.controller.signal.addEventListener('abort', onAbort, { once: true });
      return () => {
        sub.unsubscribe();
        if (!finished) req.controller.abort(new AbortError('superseded by a newer goal'));
      };
    });
  }

  async #plan(req: GoalRequest): Promise<Plan> {
    const { signal } = req.controller;
    this.#status.setState('waiting_for_frame', { goal: req.goal });
    const frame = await abortable(this.#sampler.next(this.#config.frames.waitMs), signal);
    const planId = `${this.#config.node.name}-${Date.now().toString(36)}-${++this.#seq}`;
    this.#status.setState('planning', { planId, goal: req.goal });
    const assembler = new PlanAssembler(planId, req.goal, this.#planner.name, frame);
    const request = { frame: frame.image, goal: req.goal };
    const stream: Observable<PlanProgress & { usage?: PlanUsage }> = this.#planner.planStream
      ? this.#planner.planStream(request, { signal })
      : from(this.#planner.plan(request, { signal }).then((r) => ({ subgoals: r.subgoals, complete: true, ...(r.usage ? { usage: r.usage } : {}) })));
    let last: Plan | undefined;
    let chain = Promise.resolve();
    await new Promise<void>((resolve, reject) => {
      const sub = stream.subscribe({
        next: (progress) => {
          chain = chain.then(async () => {
            const { plan, formed } = await assembler.assemble(progress);
            if (signal.aborted) return;
            last = plan;
            await this.#publishPlan(plan, formed);
            req.onPlan?.(plan, formed.at(-1));
          });
        },
        error: reject,
        complete: () => chain.then(resolve, reject),
      });
      signal.addEventListener('abort', () => {
        sub.unsubscribe();
        reject(new AbortError('plan cancelled', { cause: signal.reason }));
      }, { once: true });
    });
    if (!last?.complete) throw new AbortError('plan ended incomplete');
    this.#status.count('plans_completed');
    this.#status.setState('idle');
    return last;
  }

  async #publishPlan(plan: Plan, formed: Subgoal[]): Promise<void> {
    await this.#publish(this.#topics.plan, planToRos(plan));
    for (const s of formed) await this.#publish(this.#topics.subgoal, subgoalToRos(plan, s));
  }

  #onPlanError(req: GoalRequest, error: unknown): void {
    if (error instanceof SdkError && error.code === 'aborted') {
      this.#status.count('plans_cancelled');
      if (this.#busy.value <= 1) this.#status.setState('idle');
      return;
    }
    this.#status.count('plans_failed');
    this.#status.setState('error');
    this.#status.problem(`plan for '${req.goal.slice(0, 60)}'`, error);
  }

  async #publish(topic: TopicSpec, msg: object): Promise<void> {
    try {
      await this.#transport.publish(topic, msg);
    } catch (err) {
      if (topic === this.#topics.status) this.#log.warn(`cannot publish status: ${(err as Error).message}`);
      else this.#status.problem(`publish ${topic.name}`, err);
    }
  }
}

const FeedbackSchema = z.object({ index: z.number().int().nonnegative(), status: z.enum(['done', 'failed']), reason: z.string().optional() });

/** The plan with subgoals before `active` done, `active` active, the rest pending. */
function withStatuses(plan: Plan, active: number): Plan {
  return {
    ...plan,
    subgoals: plan.subgoals.map((s) => ({ ...s, status: s.index < active ? 'done' : s.index === active ? 'active' : 'pending' })),
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortError('plan cancelled', { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortError('plan cancelled', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function asInputError(err: unknown): unknown {
  if (err instanceof SdkError) return err;
  const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (issues) return new InputError('input_invalid', `malformed message: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return new InputError('input_invalid', (err as Error)?.message ?? String(err));
}

function emptySubgoal(plan: Plan) {
  return subgoalToRos(plan, { index: 0, instruction: '', status: 'pending' });
}
