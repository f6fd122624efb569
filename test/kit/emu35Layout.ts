import type { SpecialIds } from '../../sdk/model/ModelManifest.ts';

/** Emu3.5's special tokens in id order: 3 Qwen tokens, `<|extra_0|>`…`<|extra_204|>`, then the 3 image-structure tokens. */
export const EMU35_SPECIAL_TOKENS: readonly string[] = [
  '<|endoftext|>',
  '<|im_start|>',
  '<|im_end|>',
  ...Array.from({ length: 205 }, (_, n) => `<|extra_${n}|>`),
  '<|image token|>',
  '<|image start|>',
  '<|image end|>',
];

/** Special ids of the Emu3.5 layout when the special tokens start at `specialStart` (151643 in Emu3.5). */
export function emu35SpecialIds(specialStart: number): SpecialIds {
  const extra = (n: number) => specialStart + 3 + n;
  return {
    pad: specialStart,
    bos: extra(203),
    eos: extra(204),
    bss: extra(100),
    ess: extra(101),
    boi: specialStart + 209,
    eoi: specialStart + 210,
    img: specialStart + 208,
    eol: extra(200),
    eof: extra(201),
    boc: extra(50),
    eoc: extra(51),
    bog: extra(60),
    eog: extra(61),
  };
}

/** A byte-level tiktoken ranks file: the 256 bytes (rank = byte value), then a few English merges. Digits stay single bytes. */
export function tinyRanksText(): string {
  const merges = ['he', 'in', 'er', 'an', 're', 'on', 'at', 'en', 'nd', 'ed', 'or', 'es', ' t', ' a', ' s', ' b', ' p', ' w', 'th', ' th', 'the', ' the', 'ing', ' to'];
  const tokens = [...Array.from({ length: 256 }, (_, b) => Buffer.from([b])), ...merges.map((m) => Buffer.from(m, 'latin1'))];
  return tokens.map((t, rank) => `${t.toString('base64')} ${rank}\n`).join('');
}
