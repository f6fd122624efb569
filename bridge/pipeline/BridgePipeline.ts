import { EMPTY, Subject, type Subscription, switchMap } from 'rxjs';
import { checkGoal } from '../../planners/goal.ts';
import type { Plan, Subgoal } from '../../planners/Plan.ts';
import type { ControllerFeedback } from '../../planners/PlanExecutor.ts';
import type { Planner } from '../../planners/Planner.ts';
import { InputError, TransportError } from '../../sdk/errors.ts';
import { feedbackFromRos } from '../messages/controllerFeedback.ts';
import { planToRos, subgoalToRos } from '../messages/planToRos.ts';
import { PlanTaskGoalSchema, StringMsgSchema } from '../messages/rosTypes.ts';
import type { TopicSpec, Transport, TransportProblem } from '../transports/Transport.ts';
import type { BridgeConfig } from './BridgeConfig.ts';
import { asInputError } from './classifyError.ts';
import { FrameInput } from './FrameInput.ts';
import { FrameSampler } from './FrameSampler.ts';
import { PendingWork } from './PendingWork.ts';
import { planTaskAction } from './planTaskAction.ts';
import { type GoalRequest, type GoalRunContext, runGoal } from './runGoal.ts';
import { type Counter, consoleLogger, type Logger, StatusReporter } from './StatusReporter.ts';
import { trackedPlanner } from './trackedPlanner.ts';
import { type BridgeTopics, bridgeTopics } from './topics.ts';

export interface BridgePipelineOptions {
  transport: Transport;
  planner: Planner;
  config: BridgeConfig;
  log?: Logger;
}

/**
 * transport → frames (newest kept) + goals → the closed loop (`PlanExecutor`) → plans, subgoals and
 * status back out. With a feedback topic the plan is followed (advance, re-plan); without one it is
 * published and handed over. A new goal cancels the one in flight (the planner's backend work
 * stops); bad input is counted, logged once per reason, reported on the status topic, and never
 * stops the node.
 *
 * @example
 * const pipeline = new BridgePipeline({ transport, planner, config }); pipeline.start();
 */
export class BridgePipeline {
  readonly #transport: Transport;
  #config: BridgeConfig;
  readonly #log: Logger;
  readonly #topics: BridgeTopics;
  readonly #status: StatusReporter;
  readonly #sampler: FrameSampler;
  readonly #frames: FrameInput;
  /** Goals to run; `null` cancels the one in flight without starting another (deactivate). */
  readonly #goals = new Subject<GoalRequest | null>();
  readonly #work = new PendingWork();
  readonly #feedback = new Subject<ControllerFeedback>();
  readonly #run: GoalRunContext;
  /** The pipeline's own subscriptions (action, problems, goals) and the input topics', apart. */
  readonly #subs: Subscription[] = [];
  readonly #inputs: Subscription[] = [];
  #stopAction: (() => void) | undefined;
  #opened = false;
  #active = false;
  #stopped = false;

  constructor(options: BridgePipelineOptions) {
    this.#transport = options.transport;
    this.#config = options.config;
    this.#log = options.log ?? consoleLogger;
    this.#topics = bridgeTopics(this.#config);
    this.#status = new StatusReporter((msg) => this.#publish(this.#topics.status, msg), this.#log);
    this.#sampler = new FrameSampler({
      work: this.#work,
      onDecodeError: (err) => this.#status.problem(this.#topics.compressedImage.name, err, 'frames_rejected'),
      onUsed: () => this.#status.count('frames_used'),
      onDropped: () => this.#status.count('frames_dropped'),
    });
    this.#frames = new FrameInput(this.#sampler, this.#status, () => this.#config.frames, { image: this.#topics.image.name, compressedImage: this.#topics.compressedImage.name });
    this.#run = {
      planner: trackedPlanner(options.planner, this.#work, (frame) => this.#sampler.markUsed(frame)),
      policy: this.#config.replan,
      nodeName: this.#config.node.name,
      sampler: this.#sampler,
      feedback: this.#topics.feedback.name ? this.#feedback : undefined,
      status: this.#status,
      log: this.#log,
      work: this.#work,
      inFlight: { goals: 0 },
      publishPlan: (plan, formed) => this.#publishPlan(plan, formed),
    };
  }

  get status(): StatusReporter {
    return this.#status;
  }

  get sampler(): FrameSampler {
    return this.#sampler;
  }

  /** Opens and activates at once: the pipeline of a bridge without a managed lifecycle. */
  start(): void {
    this.open();
    this.activate();
  }

  /**
   * The configured, inactive pipeline (a ROS lifecycle node's `inactive`): the status topic and the
   * action are served, but no input topic is listened to, and goals are refused with the reason.
   */
  open(): void {
    if (this.#opened) return;
    this.#opened = true;
    const t = this.#transport;
    if (t.problems) this.#subs.push(t.problems.subscribe((p) => this.#onProblem(p)));
    const action = planTaskAction((goal, controller, settle, onPlan) => this.#accept(goal, controller, settle, onPlan));
    this.#stopAction = t.serveAction?.(this.#config.topics.action, action, (goal) => this.#refusal(goal));
    this.#subs.push(this.#goals.pipe(switchMap((req) => (req ? runGoal(this.#run, req) : EMPTY))).subscribe());
    this.#status.setState('inactive');
  }

  /** Listens to the camera, goal and feedback topics and accepts goals. */
  activate(): void {
    if (this.#stopped) throw new InputError('input_invalid', 'the bridge pipeline is stopped');
    this.open();
    if (this.#active) return;
    this.#active = true;
    const t = this.#transport;
    const topics = this.#topics;
    const on = (topic: TopicSpec, handle: (m: unknown) => void, counter?: Counter) =>
      this.#inputs.push(t.subscribe(topic).subscribe((m) => this.#guard(topic, () => handle(m), counter)));
    on(topics.image, (m) => this.#frames.onImage(m), 'frames_rejected');
    if (topics.compressedImage.name) on(topics.compressedImage, (m) => this.#frames.onCompressed(m), 'frames_rejected');
    on(topics.goal, (m) => this.#onGoalMessage(m), 'goals_rejected');
    if (topics.feedback.name) on(topics.feedback, (m) => this.#onFeedback(m));
    this.#status.setState('idle');
  }

  /**
   * Stops listening: the plan in flight is cancelled (its action goal ends CANCELED or ABORTED), the
   * held frame is dropped (a later activation must not plan from it), and goals are refused until
   * the next activate(). Counters carry on.
   */
  deactivate(): void {
    if (!this.#active) return;
    this.#active = false;
    for (const s of this.#inputs) s.unsubscribe();
    this.#inputs.length = 0;
    this.#goals.next(null);
    this.#sampler.clear();
    this.#status.setState('inactive');
  }

  get active(): boolean {
    return this.#active;
  }

  /**
   * Settings that may change at run time (the re-plan policy, frame and goal limits, the planner's
   * sampling): they apply from the next goal; the goal in flight keeps what it started with. Topics
   * and QoS are fixed for the pipeline's life.
   */
  reconfigure(config: BridgeConfig, planner?: Planner): void {
    this.#config = config;
    this.#run.policy = config.replan;
    if (planner) this.#run.planner = trackedPlanner(planner, this.#work, (frame) => this.#sampler.markUsed(frame));
  }

  /**
   * Resolves when no computation is pending (no planner call, frame decode, or plan being
   * published): the replay gate for offline (lockstep) runs. A goal waiting for its first frame, or
   * a plan waiting for controller feedback, is idle: the next bag message is what it waits for.
   */
  whenIdle(): Promise<void> {
    return this.#work.whenIdle();
  }

  /** Cancels any plan in flight, publishes a last status with the final counters, and detaches. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#active = false;
    for (const s of [...this.#inputs, ...this.#subs]) s.unsubscribe();
    this.#inputs.length = 0;
    this.#subs.length = 0;
    this.#stopAction?.();
    this.#goals.complete();
    this.#sampler.complete(); // settles the frame counters: a frame still held counts as dropped
    await this.#publish(this.#topics.status, this.#status.snapshot());
  }

  /** Submits a goal as if it came from the goal topic; resolves with the final plan. */
  submitGoal(goal: string, onPlan?: GoalRequest['onPlan']): Promise<Plan> {
    return new Promise((resolve, reject) => {
      const refused = this.#accept(goal, new AbortController(), (r) => (r.plan ? resolve(r.plan) : reject(r.error)), onPlan);
      if (refused) reject(refused);
    });
  }

  /**
   * A message whose fields throw on access (a getter, a proxy) must not end a long-running node: any
   * throw while handling one message is that message's problem, counted and reported.
   */
  #guard(topic: TopicSpec, handle: () => void, counter?: Counter): void {
    try {
      handle();
    } catch (err) {
      this.#status.problem(topic.name, asInputError(err), counter);
    }
  }

  /**
   * A message the transport could not decode counts as received and rejected on its topic; a
   * channel-level or bag-level problem (unknown schema, damaged chunk) is reported, not counted.
   */
  #onProblem(p: TransportProblem): void {
    const topics = this.#topics;
    const kind = p.topic === topics.goal.name ? 'goals' : p.topic === topics.image.name || p.topic === topics.compressedImage.name ? 'frames' : undefined;
    if (p.code === 'undecodable' && kind) {
      this.#status.count(`${kind}_received`);
      return this.#status.problem(p.topic, new InputError('input_invalid', p.reason), `${kind}_rejected`);
    }
    const err = p.code === 'unknown_schema' || p.code === 'undecodable' ? new InputError('input_invalid', p.reason) : new TransportError(`${p.code}: ${p.reason}`);
    this.#status.problem(p.topic, err);
  }

  #onGoalMessage(raw: unknown): void {
    const parsed = StringMsgSchema.safeParse(raw);
    if (!parsed.success) {
      this.#status.count('goals_received');
      return this.#status.problem(this.#topics.goal.name, asInputError(parsed.error), 'goals_rejected');
    }
    this.#accept(parsed.data.data, new AbortController(), () => undefined);
  }

  /** Validates a goal before it may cancel the plan in flight; a bad goal never displaces a good one. */
  #accept(goal: unknown, controller: AbortController, settle: GoalRequest['settle'], onPlan?: GoalRequest['onPlan']): Error | undefined {
    this.#status.count('goals_received');
    const refused = this.#check(goal);
    if (refused instanceof Error) {
      this.#status.problem(this.#topics.goal.name, refused, 'goals_rejected');
      return refused;
    }
    this.#goals.next({ goal: refused.goal, controller, settle, ...(onPlan ? { onPlan } : {}) });
    return undefined;
  }

  /** Why a goal would be refused now (the node's state, the goal's text), or the checked goal. */
  #check(goal: unknown): Error | { goal: string } {
    if (this.#stopped) return new InputError('input_invalid', 'goal rejected: the bridge pipeline is stopped');
    if (!this.#active) return new InputError('input_invalid', 'goal rejected: the node is inactive (activate it first)');
    try {
      return { goal: checkGoal(goal, this.#config.planner.maxGoalChars) };
    } catch (err) {
      return new InputError('input_invalid', `goal rejected: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The action server's accept/reject decision, before a goal is accepted: a refused goal is
   * counted and reported on the status topic here, and the client sees REJECTED.
   */
  #refusal(raw: unknown): Error | undefined {
    const parsed = PlanTaskGoalSchema.safeParse(raw);
    const refused = this.#check(parsed.success ? parsed.data.instruction : raw);
    if (!(refused instanceof Error)) return undefined;
    this.#status.count('goals_received');
    this.#status.problem(this.#config.topics.action, refused, 'goals_rejected');
    return refused;
  }

  #onFeedback(raw: unknown): void {
    try {
      this.#feedback.next(feedbackFromRos(raw));
    } catch (err) {
      this.#status.problem(this.#topics.feedback.name, asInputError(err));
    }
  }

  async #publishPlan(plan: Plan, formed: Subgoal[]): Promise<void> {
    await this.#publish(this.#topics.plan, planToRos(plan));
    for (const s of formed) await this.#publish(this.#topics.subgoal, subgoalToRos(plan, s));
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
