import type { GrammarIds } from '../../../sdk/generation/GrammarIds.ts';
import type { GenerationLoopParams, LoopIds } from '../../../sdk/generation/GenerationLoop.ts';
import type { SamplingPreset } from '../../../sdk/model/ModelManifest.ts';
import { ScriptedLm, peaked } from './scriptedLm.ts';

/** A 46-id toy layout: 0–9 digits, 10 '*', 11–19 text, 20.. specials, 30–45 visual codes 0–15. */
export const TOY: LoopIds & GrammarIds = {
  digits: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  star: 10,
  boi: 20,
  eoi: 21,
  img: 22,
  eol: 23,
  eos: 24,
  bog: 25,
  eog: 26,
  boc: 27,
  eoc: 28,
  hidden: [29, 24],
  visualOffset: 30,
  vocabSize: 46,
};
export const A = 11;
export const B = 12;
export const V = (code: number) => TOY.visualOffset + code;

const NAMES: Record<number, string> = { 10: '*', 11: 'a', 12: 'b', 13: ' ', 20: '<BOI>', 21: '<EOI>', 22: '<IMG>', 23: '<EOL>', 24: '<EOS>', 25: '<BOG>', 26: '<EOG>', 27: '<BOC>', 28: '<EOC>', 29: '<ESS>' };
export const toyDecode = (ids: number[]) => ids.map((i) => (i < 10 ? String(i) : i >= 30 ? `<v${i - 30}>` : (NAMES[i] ?? `<${i}>`))).join('');

export const SAMPLING: SamplingPreset = {
  cfg: 3,
  text: { topK: 5, topP: 0.9, temperature: 1 },
  image: { topK: 8, topP: 1, temperature: 1 },
  maxNewTokens: 100,
  imageArea: 1024,
};

/** A cond LM that emits `script[n]` at generated position n (strongly peaked), and EOS after it. */
export function scriptedCond(promptLength: number, script: readonly number[]): ScriptedLm {
  return new ScriptedLm(TOY.vocabSize, (h) => peaked(TOY.vocabSize, script[h.length - promptLength] ?? TOY.eos, 40));
}

export function flatUncond(): ScriptedLm {
  return new ScriptedLm(TOY.vocabSize, () => new Float32Array(TOY.vocabSize));
}

export function loopParams(over: Partial<GenerationLoopParams> & Pick<GenerationLoopParams, 'cond'>): GenerationLoopParams {
  return {
    task: 'story',
    condPrompt: [A, A, A],
    uncondPrompt: [B, B],
    ids: TOY,
    sampling: SAMPLING,
    seed: 7,
    stopAtEoi: false,
    decodeText: toyDecode,
    parseOutput: (text) => [{ type: 'text', text }],
    ...over,
  };
}
