/** The ids the image grammar needs, taken from the manifest and tokenizer. */
export interface GrammarIds {
  boi: number;
  eoi: number;
  img: number;
  eol: number;
  /** Ids of '0'..'9' (Emu3.5: 15..24). */
  digits: readonly number[];
  /** Id of '*' (Emu3.5: 9). */
  star: number;
  visualOffset: number;
  vocabSize: number;
}

/** Emu3.5's values, for tests and benches. */
export const EMU35_GRAMMAR_IDS: GrammarIds = {
  boi: 151852,
  eoi: 151853,
  img: 151851,
  eol: 151846,
  digits: [15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
  star: 9,
  visualOffset: 151854,
  vocabSize: 282926,
};
