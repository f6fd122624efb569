import assert from 'node:assert/strict';
import { headerTokenIds, imageTokenIds } from '../../../sdk/prompt/imageTokens.ts';
import { InputError } from '../../../sdk/errors.ts';
import type { ModelManifest } from '../../../sdk/model/ModelManifest.ts';
import type { TiktokenTokenizer } from '../../../sdk/tokenizer/TiktokenTokenizer.ts';
import { emu35, requireShared } from '../model/emu35Fixture.ts';

describe('imageTokenIds', function () {
  let manifest: ModelManifest;
  let tok: TiktokenTokenizer;
  before(async function () {
    requireShared(this);
    ({ manifest, tokenizer: tok } = await emu35());
  });
  const grid = (rows: number, cols: number) => Array.from({ length: rows * cols }, (_, i) => i % 131072);

  it('has H·(W+1)+7 tokens for two-digit dims (45×45 → 2077, 64×64 → 4167)', () => {
    const { ids, visualOffset } = manifest.vocab;
    for (const [h, w, n] of [[45, 45, 2077], [64, 64, 4167], [39, 52, 39 * 53 + 7]] as const) {
      const out = imageTokenIds(tok, ids, visualOffset, { rows: h, cols: w }, grid(h, w));
      assert.equal(out.length, n, `${h}x${w}`);
      assert.equal(out.filter((t) => t === ids.eol).length, h - 1);
    }
  });

  it('lays out BOI header IMG rows EOL… EOI with no EOL after the last row', () => {
    const { ids, visualOffset } = manifest.vocab;
    const out = imageTokenIds(tok, ids, visualOffset, { rows: 2, cols: 3 }, [0, 131071, 42, 7, 8, 9]);
    assert.deepEqual(out, [ids.boi, 17, 9, 18, ids.img, 151854, 282925, 151896, ids.eol, 151861, 151862, 151863, ids.eoi]);
    assert.equal(out.at(-2), visualOffset + 9);
    assert.equal(tok.decode(out), '<|image start|>2*3<|image token|><|visual token 000000|><|visual token 131071|><|visual token 000042|><|extra_200|><|visual token 000007|><|visual token 000008|><|visual token 000009|><|image end|>');
  });

  it('header digits are single tokens', () => {
    assert.deepEqual(headerTokenIds(tok, 55, 73), [20, 20, 9, 22, 18]);
  });

  it('rejects a code count that does not fill the grid', () => {
    const { ids, visualOffset } = manifest.vocab;
    assert.throws(() => imageTokenIds(tok, ids, visualOffset, { rows: 2, cols: 2 }, [1, 2, 3]), (e: unknown) => e instanceof InputError && /needs 4 codes, got 3/.test(e.message));
  });
});
