/**
 * `npx tsx bin/bench/tokenizerBench.ts [RANKS]`: ranks load time and encode throughput (cold and cached).
 * Targets: load < 1 s; encode well above 1 MB/s warm.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadManifest } from '../../sdk/model/loadManifest.ts';
import { TiktokenTokenizer } from '../../sdk/tokenizer/TiktokenTokenizer.ts';

const ranksPath = process.argv[2] ?? fileURLToPath(new URL('../../../shared/emu35/emu3.tiktoken', import.meta.url));
const modelDir = fileURLToPath(new URL('../../models/emu35', import.meta.url));

const t0 = performance.now();
const { manifest, dir } = await loadManifest(modelDir, { requireOnnx: false, ranksPath });
const tok = await TiktokenTokenizer.fromManifest(manifest, dir, { ranksPath });
const loadMs = performance.now() - t0;

const text = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8') + readFileSync(fileURLToPath(new URL('../../package-lock.json', import.meta.url)), 'utf8');
const mb = Buffer.byteLength(text) / 1e6;
let t = performance.now();
const ids = tok.encode(text);
const coldMs = performance.now() - t;
t = performance.now();
tok.encode(text);
const warmMs = performance.now() - t;
t = performance.now();
const back = tok.decode(ids);
const decodeMs = performance.now() - t;

console.log(JSON.stringify({
  loadMs: Math.round(loadMs),
  bytes: Math.round(mb * 1e6),
  tokens: ids.length,
  encodeColdMBps: +(mb / (coldMs / 1000)).toFixed(2),
  encodeWarmMBps: +(mb / (warmMs / 1000)).toFixed(2),
  decodeMBps: +(mb / (decodeMs / 1000)).toFixed(2),
  roundTrip: back === text.normalize('NFC'),
}));
