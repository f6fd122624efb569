import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TiktokenTokenizer } from '../../../sdk/tokenizer/TiktokenTokenizer.ts';
import { ModelError } from '../../../sdk/errors.ts';
import { emu35, golden, requireShared, RANKS_PATH } from '../model/emu35Fixture.ts';

describe('TiktokenTokenizer (real emu3.tiktoken)', function () {
  let tok: TiktokenTokenizer;
  before(async function () {
    requireShared(this);
    tok = (await emu35()).tokenizer;
  });

  it('reproduces every golden text vector', () => {
    const cases = golden().text;
    assert.ok(cases.length >= 6);
    for (const c of cases) assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
  });

  it('decodes golden ids back to the (NFC) text', () => {
    for (const c of golden().text) assert.equal(tok.decode(c.ids), c.text.normalize('NFC'));
  });

  it('has the Emu3.5 vocabulary size and layout', () => {
    assert.equal(tok.vocabSize, 282926);
    assert.equal(tok.rankCount, 151643);
    assert.equal(tok.tokenToId('<|endoftext|>'), 151643);
    assert.equal(tok.tokenToId('<|extra_0|>'), 151646);
    assert.equal(tok.tokenToId('<|extra_204|>'), 151850);
    assert.equal(tok.tokenToId('<|image end|>'), 151853);
    assert.equal(tok.tokenToId('<|visual token 000000|>'), 151854);
    assert.equal(tok.tokenToId('<|visual token 131071|>'), 282925);
    assert.equal(tok.idToToken(282925), '<|visual token 131071|>');
    assert.equal(tok.idToToken(151706), '<|extra_60|>');
    assert.equal(tok.idToToken(282926), undefined);
    assert.equal(tok.tokenToId('*'), 9);
    assert.equal(tok.tokenToId('0'), 15);
  });

  it('splits special and visual tokens out of running text', () => {
    const ids = tok.encode('a<|extra_60|>b<|visual token 000042|><|image start|>');
    assert.deepEqual(ids.slice(-2), [151854 + 42, 151852]);
    assert.ok(ids.includes(151706));
    assert.equal(ids.length, 5);
  });

  it('keeps visual-looking names outside the codebook as plain text', () => {
    const ids = tok.encode('<|visual token 131072|>');
    assert.ok(ids.length > 1);
    assert.ok(ids.every((id) => id < 151643));
    assert.equal(tok.decode(ids), '<|visual token 131072|>');
  });

  it('encodes every digit as its own token (size headers)', () => {
    assert.deepEqual(tok.encode('2048'), [17, 15, 19, 23]);
    assert.deepEqual(tok.encode('64*64'), [21, 19, 9, 21, 19]);
  });

  it('NFC-normalises before encoding', () => {
    const decomposed = 'cafe\u0301';
    assert.notEqual(decomposed, 'café');
    assert.deepEqual(tok.encode(decomposed), tok.encode('café'));
  });

  it('round-trips arbitrary unicode and whitespace', () => {
    const texts = ['  \n\n\t x', '東京 🤖 naïve', "it's THEY'LL we'Ve", 'a\r\n\r\nb   ', '\u00a0nbsp\u3000ideo'];
    for (const t of texts) assert.equal(tok.decode(tok.encode(t)), t);
  });

  it('decodes multi-byte characters split across tokens', () => {
    const ids = tok.encode('𓀀');
    assert.ok(ids.length > 1, 'a rare hieroglyph should span several byte tokens');
    assert.equal(tok.decode(ids), '𓀀');
    assert.equal(tok.decode(ids.slice(0, 1)), '\ufffd', 'a partial character decodes to U+FFFD');
  });

  it('rejects ids outside the vocabulary on decode', () => {
    assert.throws(() => tok.decode([282926]), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch' && /282926/.test(e.message));
  });
});

describe('TiktokenTokenizer (errors and tiny ranks)', () => {
  async function ranksFile(text: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'emu-ranks-'));
    const file = path.join(dir, 'r.tiktoken');
    await writeFile(file, text);
    return file;
  }
  const line = (s: string, r: number) => `${Buffer.from(s, 'latin1').toString('base64')} ${r}`;
  const bytes256 = () => Array.from({ length: 256 }, (_, i) => line(String.fromCharCode(i), i));

  it('missing ranks file → ModelError model_missing naming the path', async () => {
    await assert.rejects(TiktokenTokenizer.fromFile('/nonexistent/emu3.tiktoken', []), (e: unknown) => e instanceof ModelError && e.code === 'model_missing' && /nonexistent/.test(e.message));
  });

  it('garbled ranks file → ModelError model_mismatch with the line number', async () => {
    const file = await ranksFile(`${line('a', 0)}\nthis is not base64!! x\n`);
    await assert.rejects(TiktokenTokenizer.fromFile(file, []), (e: unknown) => e instanceof ModelError && e.code === 'model_mismatch' && /line 2/.test(e.message));
  });

  it('merges by lowest rank, like tiktoken', async () => {
    // 'ab' (256) beats 'bc' (257), so 'abc' → ['ab','c']; with 'bc' ranked lower it would be ['a','bc'].
    const file = await ranksFile([...bytes256(), line('ab', 256), line('bc', 257)].join('\n'));
    const tok = await TiktokenTokenizer.fromFile(file, ['<|end|>']);
    assert.deepEqual(tok.encode('abc'), [256, 99]);
    const file2 = await ranksFile([...bytes256(), line('bc', 256), line('ab', 257)].join('\n'));
    const tok2 = await TiktokenTokenizer.fromFile(file2, ['<|end|>']);
    assert.deepEqual(tok2.encode('abc'), [97, 256]);
    assert.deepEqual(tok2.encode('abc<|end|>'), [97, 256, 258]);
    assert.equal(tok2.vocabSize, 259);
  });

  it('without specials, special-looking text is ordinary', async function () {
    requireShared(this);
    const tok = await TiktokenTokenizer.fromFile(RANKS_PATH, []);
    assert.equal(tok.vocabSize, 151643);
    const ids = tok.encode('<|extra_0|>');
    assert.ok(ids.length > 1 && ids.every((id) => id < 151643));
  });
});
