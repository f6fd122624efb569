import type { OutputItem } from '../generation/GenerationEvent.ts';
import { InputError } from '../errors.ts';
import { EMU35_MARKERS, type OutputMarkers } from './outputMarkers.ts';

export { EMU35_MARKERS, type OutputMarkers };

export type DecodedItem = Exclude<OutputItem, { type: 'image' }> | { type: 'image'; grid: { rows: number; cols: number }; codes: number[] };

/** Python's `str.strip()` whitespace (JS `trim` differs on U+001C–U+001F, U+0085 and U+FEFF). */
const PY_BLANK = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/u;

/**
 * Reference `multimodal_decode` on the decoded generated text (special tokens kept as strings):
 * delete ESS/EOS, split on one non-greedy DOTALL alternation `BOG.*?EOG | BOC.*?EOC | BOI.*?EOI`,
 * then classify each chunk in the reference's order (image, global CoT, image CoT, text).
 * Non-rectangular or empty images and unterminated images are dropped; text is kept unstripped.
 */
export function multimodalDecode(text: string, markers: OutputMarkers = EMU35_MARKERS): DecodedItem[] {
  const m = markers;
  let s = text;
  for (const d of m.drop) s = s.split(d).join('');
  const pair = (a: string, b: string) => `${esc(a)}.*?${esc(b)}`;
  const splitter = new RegExp(`(${pair(m.bog, m.eog)}|${pair(m.boc, m.eoc)}|${pair(m.boi, m.eoi)})`, 's');
  const visual = visualRegex(m.visualTokenFormat);
  const out: DecodedItem[] = [];
  for (const chunk of s.split(splitter)) {
    if (chunk.length === 0) continue;
    if (chunk.includes(m.boi) && chunk.includes(m.eoi)) {
      const image = parseImage(chunk, m.eol, visual);
      if (image) out.push(image);
    } else if (chunk.includes(m.bog) && chunk.includes(m.eog)) {
      out.push({ type: 'global_cot', text: strip(chunk, m.bog, m.eog) });
    } else if (chunk.includes(m.boc) && chunk.includes(m.eoc)) {
      out.push({ type: 'image_cot', text: strip(chunk, m.boc, m.eoc) });
    } else if (!chunk.includes(m.boi) && !PY_BLANK.test(chunk)) {
      out.push({ type: 'text', text: chunk });
    }
  }
  return out;
}

/** Rows split on EOL; each row's visual codes in order; empty rows skipped; null unless rectangular and non-empty. */
function parseImage(chunk: string, eol: string, visual: RegExp): DecodedItem | null {
  const rows: number[][] = [];
  for (const piece of chunk.split(eol)) {
    const row = Array.from(piece.matchAll(visual), (v) => Number(v[1]));
    if (row.length > 0) rows.push(row);
  }
  const cols = rows[0]?.length ?? 0;
  if (cols === 0 || rows.some((r) => r.length !== cols)) return null;
  return { type: 'image', grid: { rows: rows.length, cols }, codes: rows.flat() };
}

function visualRegex(fmt: string): RegExp {
  const spec = /%0?\d*d/.exec(fmt);
  if (!spec) throw new InputError('input_invalid', `visualTokenFormat ${JSON.stringify(fmt)} has no %d field`);
  return new RegExp(`${esc(fmt.slice(0, spec.index))}(\\d+)${esc(fmt.slice(spec.index + spec[0].length))}`, 'g');
}

function strip(chunk: string, open: string, close: string): string {
  return chunk.split(open).join('').split(close).join('');
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
