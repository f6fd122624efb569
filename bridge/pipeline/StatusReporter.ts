import { SdkError } from '../../sdk/errors.ts';
import { BRIDGE_STATES, type BridgeState, type BridgeStatusMsg } from '../messages/rosTypes.ts';
import { stampFromMs } from '../../planners/Plan.ts';

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
}

export const consoleLogger: Logger = {
  info: (line) => console.error(`[emu bridge] ${line}`),
  warn: (line) => console.error(`[emu bridge] WARN ${line}`),
};

export type Counter = 'frames_received' | 'frames_used' | 'frames_rejected' | 'frames_dropped' | 'goals_received' | 'goals_rejected' | 'plans_completed' | 'plans_cancelled' | 'plans_failed';

/**
 * Keeps the bridge's state and counters and turns them into `BridgeStatus` messages. Problems are
 * logged once per distinct reason (a bad camera would otherwise flood the log at 30 Hz) but every
 * occurrence is counted and reported.
 */
export class StatusReporter {
  readonly #publish: (msg: BridgeStatusMsg) => void;
  readonly #log: Logger;
  readonly #logged = new Set<string>();
  readonly #counters: Record<Counter, number> = {
    frames_received: 0, frames_used: 0, frames_rejected: 0, frames_dropped: 0, goals_received: 0, goals_rejected: 0, plans_completed: 0, plans_cancelled: 0, plans_failed: 0,
  };
  #state: BridgeState = 'idle';
  #planId = '';
  #goal = '';
  #error = { code: '', message: '' };

  constructor(publish: (msg: BridgeStatusMsg) => void, log: Logger) {
    this.#publish = publish;
    this.#log = log;
  }

  get counters(): Readonly<Record<Counter, number>> {
    return this.#counters;
  }

  get state(): BridgeState {
    return this.#state;
  }

  /** Distinct problem reasons seen so far. */
  get distinctProblems(): number {
    return this.#logged.size;
  }

  count(counter: Counter): void {
    this.#counters[counter] += 1;
  }

  setState(state: BridgeState, context: { planId?: string; goal?: string } = {}): void {
    this.#state = state;
    if (context.planId !== undefined) this.#planId = context.planId;
    if (context.goal !== undefined) this.#goal = context.goal;
    this.#emit();
  }

  /** Records a problem: counted via `counter`, logged the first time its reason is seen, published. */
  problem(where: string, err: unknown, counter?: Counter): void {
    if (counter) this.count(counter);
    const code = err instanceof SdkError ? err.code : 'engine_failed';
    const message = `${where}: ${err instanceof Error ? err.message : String(err)}`;
    // Numbers and ids (any word with a digit: plan ids, byte offsets) do not make a reason new.
    const key = `${code}|${message.replace(/[\w-]*\d[\w-]*/g, '#')}`;
    if (!this.#logged.has(key) && this.#logged.size < 1000) {
      this.#logged.add(key);
      this.#log.warn(`[${code}] ${message} (logged once; later occurrences are only counted)`);
    }
    this.#error = { code, message };
    this.#emit();
  }

  #emit(): void {
    this.#publish(this.snapshot());
  }

  /** The current status as a message. */
  snapshot(): BridgeStatusMsg {
    return {
      header: { stamp: stampFromMs(Date.now()), frame_id: '' },
      state: BRIDGE_STATES[this.#state],
      state_name: this.#state,
      plan_id: this.#planId,
      goal: this.#goal,
      error_code: this.#error.code,
      error_message: this.#error.message,
      ...this.#counters,
    };
  }
}
