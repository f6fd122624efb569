import { EngineError } from '../errors.ts';
import type { Grid } from './GenerationEvent.ts';
import type { GrammarIds } from './GrammarIds.ts';
import { headerTokens, parseHeader } from './headerGrid.ts';
import { GridConstraint } from './processors/GridConstraint.ts';
import { HeaderConstraint } from './processors/HeaderConstraint.ts';

/** What the next token must be: forced, or sampled in one of three modes. */
export type GrammarStep =
  | { kind: 'force'; token: number }
  | { kind: 'text' }
  | { kind: 'header'; allow: readonly number[] }
  | { kind: 'grid' };

/** What one pushed token changed. */
export type GrammarTransition =
  | { kind: 'none' }
  | { kind: 'image.start'; grid: Grid }
  | { kind: 'row'; rowsDone: number; grid: Grid }
  | { kind: 'image.end'; grid: Grid };

// Shared, allocation-free answers for the per-token common cases (callers only read them).
const TEXT_STEP: GrammarStep = Object.freeze({ kind: 'text' });
const GRID_STEP: GrammarStep = Object.freeze({ kind: 'grid' });
const NO_CHANGE: GrammarTransition = Object.freeze({ kind: 'none' });

/**
 * Emu3.5's text / header / grid state machine (§5.1). `fixedGrid` (explicit, preset or inherited from a
 * reference) forces every image's header; otherwise the first image's header is sampled (auto mask) and
 * replayed for later images.
 */
export class ImageGrammar {
  readonly #ids: GrammarIds;
  readonly #header: HeaderConstraint;
  readonly #grid: GridConstraint;
  #fixedHeader: number[] | undefined;
  #mode: 'text' | 'header' | 'grid' = 'text';
  #headerSoFar: number[] = [];
  #current: Grid | undefined;
  #p = 0;

  constructor(ids: GrammarIds, fixedGrid?: Grid) {
    this.#ids = ids;
    this.#header = new HeaderConstraint(ids);
    this.#grid = new GridConstraint(ids);
    this.#fixedHeader = fixedGrid ? headerTokens(fixedGrid, ids) : undefined;
  }

  get mode(): 'text' | 'header' | 'grid' {
    return this.#mode;
  }

  /** True while inside BOI..EOI (the tokens the unconditional stream is fed). */
  get inImage(): boolean {
    return this.#mode !== 'text';
  }

  /** The grid being drawn (grid mode), else undefined. */
  get grid(): Grid | undefined {
    return this.#mode === 'grid' ? this.#current : undefined;
  }

  /** Grid tokens pushed so far in the current image (the next one is at position `gridPosition + 1`). */
  get gridPosition(): number {
    return this.#p;
  }

  get headerConstraint(): HeaderConstraint {
    return this.#header;
  }

  get gridConstraint(): GridConstraint {
    return this.#grid;
  }

  next(): GrammarStep {
    if (this.#mode === 'text') return TEXT_STEP;
    if (this.#mode === 'header') {
      const rule = this.#header.rule(this.#headerSoFar.length + 1, this.#fixedHeader);
      return 'force' in rule ? { kind: 'force', token: rule.force } : { kind: 'header', allow: rule.allow };
    }
    const forced = this.#grid.forced(this.#p + 1, this.#current!);
    return forced === null ? GRID_STEP : { kind: 'force', token: forced };
  }

  push(token: number): GrammarTransition {
    const ids = this.#ids;
    if (this.#mode === 'text') {
      if (token === ids.boi) {
        this.#mode = 'header';
        this.#headerSoFar = [];
      }
      return NO_CHANGE;
    }
    if (this.#mode === 'header') {
      if (token !== ids.img) {
        this.#headerSoFar.push(token);
        return NO_CHANGE;
      }
      const grid = parseHeader(this.#headerSoFar, ids);
      if (!grid) throw new EngineError(`image header tokens [${this.#headerSoFar.join(',')}] do not spell "H*W"`);
      this.#fixedHeader ??= [...this.#headerSoFar];
      this.#current = grid;
      this.#mode = 'grid';
      this.#p = 0;
      return { kind: 'image.start', grid };
    }
    const grid = this.#current!;
    this.#p++;
    if (token === ids.eoi) {
      this.#mode = 'text';
      return { kind: 'image.end', grid };
    }
    if (token === ids.eol) return { kind: 'row', rowsDone: this.#p / (grid.cols + 1), grid };
    return NO_CHANGE;
  }
}
