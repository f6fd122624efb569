import { ModelError } from '../errors.ts';

/** Names ↔ ids for the visual-token block described by a printf format such as `<|visual token %06d|>`. */
export interface VisualTokenCodec {
  /** Regex source matching any name of the format (in-range or not). */
  source: string;
  /** Id of a name, or undefined when it is not a visual token of this codebook. */
  parse(name: string): number | undefined;
  /** Name of an id, or undefined when the id is outside the block. */
  format(id: number): string | undefined;
}

const SPEC = /%(0?)(\d*)d/;

export function visualTokenCodec(fmt: string, offset: number, codebookSize: number): VisualTokenCodec {
  const m = SPEC.exec(fmt);
  if (!m) throw new ModelError('model_mismatch', `visualTokenFormat ${JSON.stringify(fmt)} has no %d / %0Nd field`);
  const prefix = fmt.slice(0, m.index);
  const suffix = fmt.slice(m.index + m[0].length);
  const width = m[2] ? Number(m[2]) : 0;
  const zeroPad = m[1] === '0';
  const digits = width > 0 && zeroPad ? `\\d{${width}}` : '\\d+';
  const exact = new RegExp(`^${escape(prefix)}(${digits})${escape(suffix)}$`, 'u');
  return {
    source: `${escape(prefix)}${digits}${escape(suffix)}`,
    parse(name) {
      const hit = exact.exec(name);
      if (!hit) return undefined;
      const k = Number(hit[1]);
      if (k >= codebookSize || (!zeroPad && String(k) !== hit[1])) return undefined;
      return offset + k;
    },
    format(id) {
      const k = id - offset;
      if (!Number.isInteger(k) || k < 0 || k >= codebookSize) return undefined;
      const n = String(k);
      return prefix + (zeroPad ? n.padStart(width, '0') : n.padStart(width, ' ')) + suffix;
    },
  };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
