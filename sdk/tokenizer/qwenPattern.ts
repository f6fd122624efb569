/**
 * Qwen / cl100k pre-tokenisation regex (`PAT_STR`), rewritten for JS:
 * - `(?i:'s|…)` becomes explicit character classes (Node 20 has no inline modifiers; Rust's
 *   Unicode case folding also lets `s` match `ſ` U+017F, so that is included);
 * - `\s` / `\S` become the Unicode White_Space set, as in Rust's regex (JS `\s` adds U+FEFF
 *   and lacks U+0085).
 */
const WS = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const S = `[${WS}]`;
const NOT_S = `[^${WS}]`;

const CONTRACTIONS = "'[sS\\u017f]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]";

export const QWEN_PAT_SOURCE = [
  CONTRACTIONS,
  '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
  '\\p{N}',
  ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*`,
  `${S}*[\\r\\n]+`,
  `${S}+(?!${NOT_S})`,
  `${S}+`,
].join('|');

/** A fresh global regex (callers iterate with `matchAll`, which clones it anyway). */
export function qwenPattern(): RegExp {
  return new RegExp(QWEN_PAT_SOURCE, 'gu');
}
