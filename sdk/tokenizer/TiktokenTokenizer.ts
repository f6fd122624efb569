import type { ModelManifest } from '../model/ModelManifest.ts';
import { resolveModelPath } from '../model/loadManifest.ts';
import { ModelError } from '../errors.ts';
import { loadRanks, type Ranks } from './loadRanks.ts';
import { bytePairEncode } from './bytePairEncode.ts';
import { qwenPattern } from './qwenPattern.ts';
import { visualTokenCodec, type VisualTokenCodec } from './visualTokenCodec.ts';

export interface TiktokenOptions {
  /** Id of the first special token. @default the ranks' size */
  specialStart?: number;
  /** printf-style name of visual code k. @default '<|visual token %06d|>' */
  visualTokenFormat?: string;
  /** Id of visual code 0. @default specialStart + specialTokens.length */
  visualOffset?: number;
  /** Number of visual codes (0: no visual tokens). @default 0 */
  codebookSize?: number;
  /** @default 'NFC' */
  normalization?: 'NFC' | 'none';
}

const CACHE_LIMIT = 200_000;

/**
 * tiktoken-compatible byte-level BPE with Qwen's pre-tokeniser, special tokens parsed everywhere in the
 * text (`allowed_special="all"`) and a block of visual tokens `<|visual token NNNNNN|>` after them.
 *
 * @example
 * const tok = await TiktokenTokenizer.fromFile('emu3.tiktoken', specials, { visualOffset: 151854, codebookSize: 131072 });
 * tok.encode('Hello, my dog is cute'); // [9707, 11, 847, 5562, 374, 18838]
 */
export class TiktokenTokenizer {
  readonly vocabSize: number;
  readonly #ranks: Ranks;
  readonly #specials: Map<string, number>;
  readonly #specialById: Map<number, string>;
  readonly #splitter: RegExp;
  readonly #visual: VisualTokenCodec;
  readonly #normalize: boolean;
  readonly #cache = new Map<string, number[]>();
  #longest = 0;

  private constructor(ranks: Ranks, specialTokens: readonly string[], opts: TiktokenOptions) {
    const specialStart = opts.specialStart ?? ranks.size;
    if (specialStart < ranks.size) {
      throw new ModelError('model_mismatch', `specialStart ${specialStart} overlaps the ${ranks.size} BPE ranks`);
    }
    this.#ranks = ranks;
    this.#specials = new Map(specialTokens.map((t, i) => [t, specialStart + i]));
    if (this.#specials.size !== specialTokens.length) throw new ModelError('model_mismatch', 'Duplicate special token strings');
    this.#specialById = new Map(specialTokens.map((t, i) => [specialStart + i, t]));
    const codebookSize = opts.codebookSize ?? 0;
    const visualOffset = opts.visualOffset ?? specialStart + specialTokens.length;
    if (codebookSize > 0 && visualOffset < specialStart + specialTokens.length) {
      throw new ModelError('model_mismatch', `visualOffset ${visualOffset} overlaps special ids ${specialStart}..${specialStart + specialTokens.length - 1}`);
    }
    this.#visual = visualTokenCodec(opts.visualTokenFormat ?? '<|visual token %06d|>', visualOffset, codebookSize);
    this.#splitter = buildSplitter(specialTokens, codebookSize > 0 ? this.#visual.source : undefined);
    this.#normalize = (opts.normalization ?? 'NFC') === 'NFC';
    this.vocabSize = codebookSize > 0 ? visualOffset + codebookSize : specialStart + specialTokens.length;
  }

  static async fromFile(ranksPath: string, specialTokens: string[], opts: TiktokenOptions = {}): Promise<TiktokenTokenizer> {
    return new TiktokenTokenizer(await loadRanks(ranksPath), specialTokens, opts);
  }

  /** `opts.ranksPath` overrides the manifest's ranks file (e.g. a shared copy outside the model folder). */
  static async fromManifest(manifest: ModelManifest, modelDir: string, opts: { ranksPath?: string } = {}): Promise<TiktokenTokenizer> {
    const t = manifest.tokenizer;
    return TiktokenTokenizer.fromFile(opts.ranksPath ?? resolveModelPath(modelDir, t.ranks), t.specialTokens, {
      specialStart: t.specialStart,
      visualTokenFormat: t.visualTokenFormat,
      visualOffset: manifest.vocab.visualOffset,
      codebookSize: manifest.vocab.codebookSize,
      normalization: t.normalization,
    });
  }

  /** Number of BPE ranks (ids below this are ordinary tokens). */
  get rankCount(): number {
    return this.#ranks.size;
  }

  /** Whether `encode` applies NFC first (callers building text with spans normalise their pieces the same way). */
  get normalizesNfc(): boolean {
    return this.#normalize;
  }

  /**
   * Encodes `text`, parsing special and visual token names. Names that overlap one of
   * `ordinarySpans` (`[start, end)` offsets into `text`: user text inside a template) stay ordinary
   * text, so a user cannot forge prompt structure; everything else encodes exactly as one string.
   */
  encode(text: string, options: { ordinarySpans?: readonly (readonly [number, number])[] } = {}): number[] {
    const out: number[] = [];
    this.#encode(text, options.ordinarySpans ?? [], out, Infinity);
    return out;
  }

  /**
   * `encode`, or undefined as soon as it is clear that `text` needs more than `maxTokens` ids: a
   * megabyte of text meant for a context of a few thousand positions is not encoded to the end.
   */
  encodeWithin(text: string, maxTokens: number, options: { ordinarySpans?: readonly (readonly [number, number])[] } = {}): number[] | undefined {
    const out: number[] = [];
    return this.#encode(text, options.ordinarySpans ?? [], out, maxTokens) ? out : undefined;
  }

  /** Appends the ids of `text` to `out`; false (stopping early) once they would exceed `limit`. */
  #encode(text: string, spans: readonly (readonly [number, number])[], out: number[], limit: number): boolean {
    // Spans are offsets into the text as given; NFC could move them, so text with spans is taken as is (callers pass NFC pieces).
    const src = this.#normalize && spans.length === 0 ? text.normalize('NFC') : text;
    let last = 0;
    for (const m of src.matchAll(this.#splitter)) {
      const start = m.index;
      const end = start + m[0].length;
      if (spans.some(([a, b]) => start < b && end > a)) continue;
      const id = this.#specials.get(m[0]) ?? this.#visual.parse(m[0]);
      if (id === undefined) continue; // a visual-looking name outside the codebook stays ordinary text
      if (!this.#encodeOrdinary(src.slice(last, m.index), out, limit)) return false;
      out.push(id);
      if (out.length > limit) return false;
      last = m.index + m[0].length;
    }
    return this.#encodeOrdinary(src.slice(last), out, limit);
  }

  /** Ordinary BPE only: special-token strings are encoded as plain text. */
  encodeOrdinary(text: string): number[] {
    const out: number[] = [];
    this.#encodeOrdinary(this.#normalize ? text.normalize('NFC') : text, out, Infinity);
    return out;
  }

  decode(ids: readonly number[]): string {
    let bytes = '';
    let text = '';
    for (const id of ids) {
      const b = this.#ranks.decoder[id];
      if (b !== undefined) {
        bytes += b;
        continue;
      }
      const name = this.idToToken(id);
      if (name === undefined) throw new ModelError('model_mismatch', `Token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      text += latin1ToUtf8(bytes) + name;
      bytes = '';
    }
    return text + latin1ToUtf8(bytes);
  }

  tokenToId(token: string): number | undefined {
    return this.#specials.get(token) ?? this.#visual.parse(token) ?? this.#ranks.encoder.get(Buffer.from(token, 'utf8').toString('latin1'));
  }

  /** Special and visual ids give their names; ordinary ids their bytes read as UTF-8 (lossy for partial characters). */
  idToToken(id: number): string | undefined {
    const special = this.#specialById.get(id) ?? this.#visual.format(id);
    if (special !== undefined) return special;
    const b = this.#ranks.decoder[id];
    return b === undefined ? undefined : latin1ToUtf8(b);
  }

  #encodeOrdinary(text: string, out: number[], limit: number): boolean {
    if (text.length === 0) return true;
    for (const m of text.matchAll(qwenPattern())) {
      const piece = m[0];
      let ids = this.#cache.get(piece);
      if (ids === undefined) {
        // A piece of B bytes is at least B / (longest token) ids: a huge unbroken word over the limit is not encoded at all.
        if (limit !== Infinity && Math.ceil(Buffer.byteLength(piece) / this.#longestToken()) > limit - out.length) return false;
        ids = bytePairEncode(Buffer.from(piece, 'utf8').toString('latin1'), this.#ranks.encoder);
        if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
        this.#cache.set(piece, ids);
      }
      for (const id of ids) out.push(id);
      if (out.length > limit) return false;
    }
    return true;
  }

  /** Bytes in the longest ordinary token (computed once, on the first bounded encode). */
  #longestToken(): number {
    if (this.#longest === 0) for (const b of this.#ranks.decoder) if (b !== undefined && b.length > this.#longest) this.#longest = b.length;
    return this.#longest;
  }
}

function latin1ToUtf8(bytes: string): string {
  return bytes.length === 0 ? '' : Buffer.from(bytes, 'latin1').toString('utf8');
}

/** One alternation of all special strings (longest first, so a prefix never shadows a longer name) plus the visual pattern. */
function buildSplitter(specialTokens: readonly string[], visualSource: string | undefined): RegExp {
  const parts = [...specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp);
  if (visualSource) parts.push(visualSource);
  return new RegExp(parts.length > 0 ? parts.join('|') : '(?!)', 'gu');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
