import assert from 'node:assert/strict';
import { lastValueFrom, NEVER, type Observable, of, Subject, toArray } from 'rxjs';
import { InputError } from '../../sdk/errors.ts';
import { TestScheduler } from 'rxjs/testing';
import { type ControllerFeedback, type ExecutorEvent, PlanExecutor, type PlanExecutorOptions } from '../../planners/PlanExecutor.ts';
import type { Planner, PlanProgress, PlanRequest } from '../../planners/Planner.ts';
import type { RgbImage } from '../../sdk/image/RgbImage.ts';
import { solidImage } from './ScriptedBackend.ts';

/** TEST DOUBLE: a planner whose plans are fixed and whose requests are recorded. */
class FixedPlanner implements Planner {
  readonly name = 'fixed';
  readonly seen: RgbImage[] = [];
  constructor(private readonly make: (call: number) => Observable<PlanProgress>) {}
  async plan(): Promise<never> {
    throw new Error('planStream only');
  }
  planStream(request: PlanRequest): Observable<PlanProgress> {
    this.seen.push(request.frame);
    return this.make(this.seen.length - 1);
  }
}

const black = solidImage(4, 4, 0);
const white = solidImage(4, 4, 255);
const twoSteps: PlanProgress = { subgoals: [{ instruction: 'a', keyframe: black }, { instruction: 'b' }], complete: true };

function runExecutor(
  planner: Planner,
  options: PlanExecutorOptions,
  marbles: { frames: string; frameValues: Record<string, RgbImage>; feedback: string; feedbackValues: Record<string, ControllerFeedback>; until?: number },
): string[] {
  const log: string[] = [];
  const scheduler = new TestScheduler(assert.deepEqual);
  scheduler.run(({ hot, flush }) => {
    const frames = hot(marbles.frames, marbles.frameValues);
    const feedback = hot(marbles.feedback, marbles.feedbackValues);
    const executor = new PlanExecutor(planner, { ...options, scheduler });
    executor.run({ goal: 'g', frames, feedback }).subscribe({
      next: (e: ExecutorEvent) => log.push(`${scheduler.now()}:${label(e)}`),
      complete: () => log.push(`${scheduler.now()}:complete`),
    });
    flush();
  });
  return log;
}

function label(e: ExecutorEvent): string {
  switch (e.type) {
    case 'planning': return `planning(${e.reason})`;
    case 'plan': return `plan(${e.plan.subgoals.length}${e.plan.complete ? '' : '…'})`;
    case 'subgoal': return `subgoal(${e.index})`;
    case 'replan': return `replan(${e.reason})`;
    case 'finished': return `finished(${e.outcome},${e.replans})`;
  }
}

describe('PlanExecutor (virtual time)', () => {
  it('publishes subgoals in order and finishes when the last is done', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    const log = runExecutor(planner, {}, {
      frames: 'a', frameValues: { a: black },
      feedback: '-- 10ms x 9ms y', feedbackValues: { x: { type: 'done', index: 0 }, y: { type: 'done', index: 1 } },
    });
    assert.deepEqual(log, ['0:planning(initial)', '0:plan(2)', '0:subgoal(0)', '12:subgoal(1)', '22:finished(succeeded,0)', '22:complete']);
  });

  it('re-plans from the newest frame when the controller fails, ignoring stale feedback', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    const log = runExecutor(planner, {}, {
      frames: 'a 4ms b', frameValues: { a: black, b: white },
      feedback: '-- 5ms s 3ms f', feedbackValues: { s: { type: 'done', index: 1 }, f: { type: 'failed', index: 0, reason: 'slipped' } },
    });
    assert.deepEqual(log.slice(0, 6), ['0:planning(initial)', '0:plan(2)', '0:subgoal(0)', '11:replan(failed)', '11:planning(failed)', '11:plan(2)']);
    assert.equal(planner.seen[1], white, 'second plan uses the newest frame');
  });

  it('re-plans on a subgoal timeout and gives up after maxReplans', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    const log = runExecutor(planner, { subgoalTimeoutMs: 100, maxReplans: 2 }, { frames: 'a', frameValues: { a: black }, feedback: '-', feedbackValues: {} });
    assert.deepEqual(log.filter((l) => /replan|finished|complete/.test(l)), ['100:replan(timeout)', '200:replan(timeout)', '300:finished(failed,2)', '300:complete']);
  });

  it('re-plans when the reached frame departs from the keyframe beyond the threshold', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    const log = runExecutor(planner, { keyframeThreshold: 0.5, keyframeCompare: 'mean' }, {
      frames: 'a', frameValues: { a: black },
      feedback: '- 9ms w 9ms k', feedbackValues: { w: { type: 'done', index: 0, frame: white }, k: { type: 'done', index: 0, frame: black } },
    });
    assert.deepEqual(log.slice(2, 8), ['0:subgoal(0)', '10:replan(keyframe_mismatch)', '10:planning(keyframe_mismatch)', '10:plan(2)', '10:subgoal(0)', '20:subgoal(1)']);
  });

  it('uses a pluggable comparator and waits for a first frame before planning', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    let compared = 0;
    const log = runExecutor(planner, { compare: () => (compared++, 0) }, {
      frames: '--- 4ms a', frameValues: { a: white },
      feedback: '- 19ms d', feedbackValues: { d: { type: 'done', index: 0 } },
    });
    assert.deepEqual(log.slice(0, 4), ['0:planning(initial)', '7:plan(2)', '7:subgoal(0)', '20:subgoal(1)']);
    assert.equal(compared, 1);
  });

  it('counts planner errors and empty plans as re-plan reasons', () => {
    const planner = new FixedPlanner((call) => (call === 0 ? of({ subgoals: [], complete: true }) : of(twoSteps)));
    const log = runExecutor(planner, {}, { frames: 'a', frameValues: { a: black }, feedback: '-', feedbackValues: {} });
    assert.deepEqual(log.slice(0, 4), ['0:planning(initial)', '0:plan(0)', '0:replan(empty_plan)', '0:planning(empty_plan)']);
  });
});

describe('PlanExecutor (the one loop: signals, hand-over, goal check, typed failures)', () => {
  it('passes an AbortSignal to the planner and aborts it on unsubscribe', () => {
    let signal: AbortSignal | undefined;
    const planner: Planner = {
      name: 'slow',
      plan: (_r, o) => ((signal = o?.signal), new Promise(() => undefined)),
    };
    const sub = new PlanExecutor(planner).run({ goal: 'g', frames: of(black) }).subscribe();
    assert.ok(signal, 'the planner got a signal');
    assert.equal(signal!.aborted, false);
    sub.unsubscribe();
    assert.equal(signal!.aborted, true);
  });

  it('without feedback, hands the complete plan over (outcome planned)', () => {
    const planner = new FixedPlanner(() => of(twoSteps));
    const log: string[] = [];
    new PlanExecutor(planner).run({ goal: 'g', frames: of(black) }).subscribe((e) => log.push(label(e)));
    assert.deepEqual(log, ['planning(initial)', 'plan(2)', 'finished(planned,0)']);
  });

  it('re-plans when every subgoal is done but the goal check says no', () => {
    const planner = new FixedPlanner(() => of({ subgoals: [{ instruction: 'a' }], complete: true }));
    let checks = 0;
    const log = runExecutorWith(planner, { maxReplans: 1 }, () => (checks++, checks > 1));
    assert.deepEqual(log.filter((l) => /replan|finished/.test(l)), ['replan(goal_not_reached)', 'finished(succeeded,1)']);
  });

  it("does not retry a planner's input error, and fails typed when no frame comes", async () => {
    let calls = 0;
    const bad: Planner = { name: 'bad', plan: async () => { calls++; throw new InputError('input_invalid', 'goal is empty'); } };
    const events = await lastValueFrom(new PlanExecutor(bad).run({ goal: '', frames: of(black) }).pipe(toArray()));
    const end = events.at(-1)!;
    assert.ok(end.type === 'finished' && end.outcome === 'failed' && end.error?.code === 'input_invalid' && end.replans === 0);
    assert.equal(calls, 1);
    const waited = await lastValueFrom(new PlanExecutor(bad, { frameWaitMs: 20 }).run({ goal: 'g', frames: NEVER }).pipe(toArray()));
    const last = waited.at(-1)!;
    assert.ok(last.type === 'finished' && last.error?.code === 'timeout', JSON.stringify(last));
    assert.equal(calls, 1, 'no frame, no plan');
  });
});

/** Synchronous controller: every active subgoal is reported done right away. */
function runExecutorWith(planner: Planner, options: PlanExecutorOptions, goalReached: () => boolean): string[] {
  const log: string[] = [];
  const feedback = new Subject<ControllerFeedback>();
  new PlanExecutor(planner, options).run({ goal: 'g', frames: of(black), feedback, goalReached }).subscribe((e) => {
    log.push(label(e));
    if (e.type === 'subgoal') feedback.next({ type: 'done', index: e.index });
  });
  return log;
}
