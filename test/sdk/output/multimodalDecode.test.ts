import assert from 'node:assert/strict';
import { multimodalDecode, EMU35_MARKERS, type OutputMarkers } from '../../../sdk/output/multimodalDecode.ts';

const BOI = '<|image start|>';
const EOI = '<|image end|>';
const IMG = '<|image token|>';
const EOL = '<|extra_200|>';
const v = (k: number) => `<|visual token ${String(k).padStart(6, '0')}|>`;
const image = (rows: number[][]) => `${BOI}${rows.length}*${rows[0]!.length}${IMG}${rows.map((r) => r.map(v).join('')).join(EOL)}${EOI}`;

describe('multimodalDecode', () => {
  it('parses global CoT, text, image CoT and images in order; drops ESS/EOS', () => {
    const out = multimodalDecode(
      `<|extra_60|>plan it<|extra_61|>Step 1: pick.<|extra_50|>show gripper<|extra_51|>${image([[1, 2], [3, 4]])}\nStep 2: place.${image([[5, 6], [7, 8]])}<|extra_101|><|extra_204|>`,
    );
    assert.deepEqual(out, [
      { type: 'global_cot', text: 'plan it' },
      { type: 'text', text: 'Step 1: pick.' },
      { type: 'image_cot', text: 'show gripper' },
      { type: 'image', grid: { rows: 2, cols: 2 }, codes: [1, 2, 3, 4] },
      { type: 'text', text: '\nStep 2: place.' },
      { type: 'image', grid: { rows: 2, cols: 2 }, codes: [5, 6, 7, 8] },
    ]);
  });

  it('keeps text unstripped but drops whitespace-only chunks', () => {
    const out = multimodalDecode(`  hello \n${image([[1]])} \n\t ${image([[2]])}`);
    assert.deepEqual(out.map((o) => o.type), ['text', 'image', 'image']);
    assert.equal((out[0] as { text: string }).text, '  hello \n');
  });

  it('drops non-rectangular images', () => {
    const ragged = `${BOI}2*2${IMG}${v(1)}${v(2)}${EOL}${v(3)}${EOI}`;
    assert.deepEqual(multimodalDecode(`a${ragged}b`), [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }]);
  });

  it('drops an unterminated image, and the text glued to it', () => {
    const out = multimodalDecode(`before${image([[9]])}after${BOI}1*2${IMG}${v(1)}`);
    assert.deepEqual(out, [
      { type: 'text', text: 'before' },
      { type: 'image', grid: { rows: 1, cols: 1 }, codes: [9] },
    ]);
  });

  it('is non-greedy and spans newlines (DOTALL)', () => {
    const out = multimodalDecode(`<|extra_60|>line1\nline2<|extra_61|>mid<|extra_60|>again<|extra_61|>`);
    assert.deepEqual(out, [
      { type: 'global_cot', text: 'line1\nline2' },
      { type: 'text', text: 'mid' },
      { type: 'global_cot', text: 'again' },
    ]);
  });

  it('skips empty rows (e.g. the header piece) and a trailing EOL', () => {
    const s = `${BOI}2*1${IMG}${EOL}${v(4)}${EOL}${v(5)}${EOL}${EOI}`;
    assert.deepEqual(multimodalDecode(s), [{ type: 'image', grid: { rows: 2, cols: 1 }, codes: [4, 5] }]);
  });

  it('accepts other markers for models with the same grammar', () => {
    const m: OutputMarkers = { ...EMU35_MARKERS, boi: '[I]', eoi: '[/I]', eol: '[R]', visualTokenFormat: '<v%d>', drop: ['[END]'] };
    assert.deepEqual(multimodalDecode('hi[I]1*2<v3><v10>[/I][END]', m), [
      { type: 'text', text: 'hi' },
      { type: 'image', grid: { rows: 1, cols: 2 }, codes: [3, 10] },
    ]);
  });
});
