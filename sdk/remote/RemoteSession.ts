import { Observable } from 'rxjs';
import type { SdkError } from '../errors.ts';
import type { GenerationEvent } from '../generation/GenerationEvent.ts';
import { walkSession, type EmuSession, type StepOptions, type WalkItem, type WalkOptions } from '../session/EmuSession.ts';
import type { ClientFrame } from './protocol.ts';

/** What a RemoteSession needs of its connection (RemoteBackend provides it). */
export interface SessionLink {
  stream(frameFor: (id: string) => ClientFrame, options: StepOptions): Observable<GenerationEvent>;
  send(frame: ClientFrame): void;
  register(session: RemoteSession): void;
  unregister(sid: string): void;
  /** The same link, for a fork. */
  link(): SessionLink;
}

/**
 * A session on a remote engine (RemoteBackend.openSession): steps stream as requests do; the
 * context stays on the server. The getters follow the server's state after each step.
 */
export class RemoteSession implements EmuSession {
  readonly id: string;
  readonly ready: Promise<void>;
  #link: SessionLink;
  #turns = 0;
  #length = 0;
  #dropped = 0;
  #maxPositions: number;
  #failure: SdkError | undefined;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;
  #closed = false;

  constructor(link: SessionLink, id: string, maxPositions: number) {
    this.#link = link;
    this.id = id;
    this.#maxPositions = maxPositions;
    this.ready = new Promise((resolve, reject) => ((this.#resolve = resolve), (this.#reject = reject)));
    this.ready.catch(() => undefined);
    link.register(this);
  }

  get turns(): number {
    return this.#turns;
  }

  get length(): number {
    return this.#length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  get maxPositions(): number {
    return this.#maxPositions;
  }

  step(text: string, options: StepOptions = {}): Observable<GenerationEvent> {
    return new Observable<GenerationEvent>((subscriber) => {
      if (this.#failure) return subscriber.error(this.#failure);
      const sampling = options.sampling as Record<string, unknown> | undefined;
      return this.#link.stream((id) => ({ t: 'session.step', id, sid: this.id, text, ...(sampling ? { sampling } : {}) }), options).subscribe(subscriber);
    });
  }

  walk(options: WalkOptions): Observable<WalkItem> {
    return walkSession(this, options);
  }

  /** A branch on the server (opened there in frame order: a step on it may follow at once). */
  fork(): RemoteSession {
    const branch = new RemoteSession(this.#link.link(), crypto.randomUUID(), this.#maxPositions);
    branch.update({ turns: this.#turns, length: this.#length, dropped: this.#dropped, maxPositions: this.#maxPositions });
    this.#link.send({ t: 'session.fork', sid: branch.id, from: this.id });
    return branch;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.send({ t: 'session.close', sid: this.id });
    this.#link.unregister(this.id);
  }

  /** @internal The server's state of this session. */
  update(state: { turns: number; length: number; dropped: number; maxPositions: number }): void {
    this.#turns = state.turns;
    this.#length = state.length;
    this.#dropped = state.dropped;
    this.#maxPositions = state.maxPositions;
    this.#resolve();
  }

  /** @internal The session cannot be used any more (refused at open, or its connection is gone). */
  fail(err: SdkError): void {
    this.#failure = err;
    this.#reject(err);
  }
}
