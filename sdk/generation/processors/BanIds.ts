import type { Candidates } from '../Candidates.ts';
import type { LogitsContext, LogitsProcessor } from '../LogitsProcessor.ts';

/** Text mode: the listed ids are never drawn (a session step that must not end its answer bans EOS/ESS). */
export class BanIds implements LogitsProcessor {
  readonly #ids: ReadonlySet<number>;

  constructor(ids: readonly number[]) {
    this.#ids = new Set(ids);
  }

  process(c: Candidates, ctx: LogitsContext): void {
    if (ctx.mode !== 'text') return;
    for (let i = 0; i < c.count; i++) if (this.#ids.has(c.idAt(i))) c.logits[i] = -Infinity;
  }
}
