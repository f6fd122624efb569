import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bytePairEncode, bytePairEncodeLong } from '../../../sdk/tokenizer/bytePairEncode.ts';
import { loadRanks, type Ranks } from '../../../sdk/tokenizer/loadRanks.ts';
import { qwenPattern } from '../../../sdk/tokenizer/qwenPattern.ts';
import { RANKS_PATH, REPO_ROOT, requireShared, SHARED_EMU35 } from '../model/emu35Fixture.ts';

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

describe('bytePairEncode', function () {
  let ranks: Ranks;
  before(async function () {
    requireShared(this);
    ranks = await loadRanks(RANKS_PATH);
  });

  it('the heap path merges exactly like the scan on real text', () => {
    const text = readFileSync(path.join(SHARED_EMU35, '../reference/emu35-inference.md'), 'utf8') + readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8');
    let compared = 0;
    for (const m of text.matchAll(qwenPattern())) {
      const piece = latin1(m[0]);
      if (piece.length < 2 || ranks.encoder.has(piece)) continue;
      assert.deepEqual(bytePairEncodeLong(piece, ranks.encoder), bytePairEncode(piece, ranks.encoder), JSON.stringify(m[0]));
      compared++;
    }
    assert.ok(compared > 100, `compared ${compared} pieces`);
  });

  it('long pieces decode back to their bytes', () => {
    for (const s of ['x'.repeat(20000), 'ab'.repeat(3000), '東京'.repeat(500)]) {
      const ids = bytePairEncode(latin1(s), ranks.encoder);
      assert.equal(Buffer.from(ids.map((i) => ranks.decoder[i]).join(''), 'latin1').toString('utf8'), s);
      assert.ok(ids.length <= Buffer.byteLength(s) / 2, `${ids.length} ids for ${Buffer.byteLength(s)} bytes`);
    }
  });
});
