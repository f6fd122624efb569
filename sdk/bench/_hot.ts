import { GenerationLoop } from '/work/main/sdk/generation/GenerationLoop.ts';
import { EMU35_GRAMMAR_IDS } from '/work/main/sdk/generation/GrammarIds.ts';
const V = 282926;
const bank = Array.from({ length: 8 }, (_, j) => { const a = new Float32Array(V); let s = j + 1; for (let i = 0; i < V; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = (s / 4294967296) * 20 - 10; } return a; });
let k = 0; const first = new Float32Array(V).fill(-5); first[151852] = 50;
const lm = () => ({ length: 0, forwardPasses: 0, async feed() { this.forwardPasses++; return this.forwardPasses === 1 ? first : bank[k++ % 8]!; } });
const ids = { ...EMU35_GRAMMAR_IDS, eos: 151850, bog: 151706, eog: 151707, boc: 151696, eoc: 151697, hidden: [151747, 151850] };
const rows = 32, cols = 32;
const prompt = [1,2,3];
const loop = new GenerationLoop({ task: 't2i', cond: lm(), uncond: lm(), condPrompt: prompt, uncondPrompt: prompt, ids, sampling: { cfg: 3, text: { topK: 1024, topP: 0.9, temperature: 1 }, image: { topK: 10240, topP: 1, temperature: 1 }, maxNewTokens: 100000, imageArea: 1 }, seed: 1, fixedGrid: { rows, cols }, stopAtEoi: true, decodeText: () => '', parseOutput: () => [] });
// force BOI first: patch: run uses text mode first -> sample text; make prompt end irrelevant. We'll time total.
const t0 = performance.now();
let n = 0;
await loop.run(new AbortController().signal, (e) => { if (e.type === 'done') n = e.tokens.length; });
const ms = performance.now() - t0;
console.log('tokens', n, 'ms/token', (ms / n).toFixed(3));
