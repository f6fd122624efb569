import { Observable, Subject } from 'rxjs';
import { AbortError, TransportError } from '../../sdk/errors.ts';
import type { PlanTaskFeedback, PlanTaskGoal, PlanTaskResult } from '../messages/rosTypes.ts';
import type { GoalCheck, PlanTaskHandler, TopicSpec, Transport } from './Transport.ts';

export interface PublishedMessage {
  topic: string;
  type: string;
  message: object;
}

export interface MemoryTransportOptions {
  /** Published messages kept for inspection (oldest dropped first). @default 10000 */
  keepPublished?: number;
}

/**
 * In-process transport for tests and embedding: `inject` delivers a message to subscribers,
 * `published` keeps what was published, `sendGoal` drives the PlanTask action like an action client.
 */
export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  readonly published: PublishedMessage[] = [];
  readonly #topics = new Map<string, Subject<unknown>>();
  readonly #outputs = new Subject<PublishedMessage>();
  readonly #keep: number;
  #actions = new Map<string, { handler: PlanTaskHandler; check: GoalCheck | undefined }>();
  #closed = false;

  constructor(options: MemoryTransportOptions = {}) {
    this.#keep = options.keepPublished ?? 10_000;
  }

  subscribe(topic: TopicSpec): Observable<unknown> {
    return this.#subject(topic.name).asObservable();
  }

  async publish(topic: TopicSpec, message: object): Promise<void> {
    if (this.#closed) throw new TransportError(`publish on '${topic.name}' after close`);
    const entry = { topic: topic.name, type: topic.type, message };
    this.published.push(entry);
    if (this.published.length > this.#keep) this.published.splice(0, this.published.length - this.#keep);
    this.#outputs.next(entry);
  }

  /** Delivers `message` to the subscribers of `topic`, synchronously. */
  inject(topic: string, message: unknown): void {
    this.#subject(topic).next(message);
  }

  /** Everything published from now on. */
  get outputs(): Observable<PublishedMessage> {
    return this.#outputs.asObservable();
  }

  serveAction(name: string, handler: PlanTaskHandler, check?: GoalCheck): () => void {
    const entry = { handler, check };
    this.#actions.set(name, entry);
    return () => {
      if (this.#actions.get(name) === entry) this.#actions.delete(name);
    };
  }

  /** Acts as an action client: sends a goal, collects feedback, resolves with the result. */
  sendGoal(name: string, goal: PlanTaskGoal, options: { signal?: AbortSignal; onFeedback?: (f: PlanTaskFeedback) => void } = {}): Promise<PlanTaskResult> {
    const action = this.#actions.get(name);
    if (!action) return Promise.reject(new TransportError(`no action server '${name}'`));
    const rejected = action.check?.(goal);
    if (rejected) return Promise.reject(rejected);
    const { handler } = action;
    const controller = new AbortController();
    options.signal?.addEventListener('abort', () => controller.abort(new AbortError('goal cancelled by client')), { once: true });
    return handler(goal, { signal: controller.signal, feedback: (f) => options.onFeedback?.(f) });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#topics.values()) s.complete();
    this.#outputs.complete();
  }

  #subject(name: string): Subject<unknown> {
    let s = this.#topics.get(name);
    if (!s) {
      s = new Subject<unknown>();
      this.#topics.set(name, s);
    }
    return s;
  }
}
