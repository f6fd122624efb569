import type { GenerationEvent } from './GenerationEvent.ts';

export interface TextStreamerIds {
  bog: number;
  eog: number;
  boc: number;
  eoc: number;
  /** Ids never shown as text (ESS, EOS). */
  hidden: readonly number[];
}

type TextEvent = Extract<GenerationEvent, { type: 'text.delta' | 'cot.delta' }>;

/**
 * Turns text-mode ids into `text.delta` / `cot.delta` events. Decodes only the ids pending since the last
 * emit, holding them back while they end inside a multi-byte character (U+FFFD at the end).
 */
export class TextStreamer {
  readonly #ids: TextStreamerIds;
  readonly #decode: (ids: number[]) => string;
  #route: 'text' | 'global' | 'image' = 'text';
  #pending: number[] = [];

  constructor(ids: TextStreamerIds, decode: (ids: number[]) => string) {
    this.#ids = ids;
    this.#decode = decode;
  }

  put(token: number): TextEvent[] {
    const ids = this.#ids;
    const route = token === ids.bog ? 'global' : token === ids.boc ? 'image' : token === ids.eog || token === ids.eoc ? 'text' : null;
    if (route) {
      const out = this.flush();
      this.#route = route;
      return out;
    }
    if (ids.hidden.includes(token)) return [];
    this.#pending.push(token);
    const text = this.#decode(this.#pending);
    if (text.endsWith('\uFFFD')) return [];
    this.#pending = [];
    return text ? [this.#event(text)] : [];
  }

  /** Emits whatever is held back (at a mode change or the end). */
  flush(): TextEvent[] {
    if (this.#pending.length === 0) return [];
    const text = this.#decode(this.#pending);
    this.#pending = [];
    return text ? [this.#event(text)] : [];
  }

  #event(text: string): TextEvent {
    return this.#route === 'text' ? { type: 'text.delta', text } : { type: 'cot.delta', kind: this.#route, text };
  }
}
