/**
 * `npm run bench:explore`: per-step latency of a 40-step exploration session on emu-nano, with the
 * KV cache kept between steps against re-prefilling the whole history every step, side by side.
 * emu-nano's context is 1024 positions, so both run with contextFull: 'drop-oldest' (the kept
 * cache re-prefills only on the steps that drop turns).
 *
 *   npm run bench:explore -- [--steps 40] [--max-new-tokens 80] [--walks 20] [--model DIR] [--no-write]
 *
 * `--model`: another emu-nano folder, e.g. one converted with `emu convert decoder --kv-cache shared`
 * (appends in place: a step never copies the history).
 */
import { parseArgs } from 'node:util';
import { createRgbImage } from '../../sdk/image/RgbImage.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import { collect } from '../../sdk/tasks.ts';
import { evaluateWalks } from '../../sim/eval/evaluateWalks.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '40' }, 'max-new-tokens': { type: 'string', default: '80' }, walks: { type: 'string', default: '20' }, model: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
});
const walks = Number(values.walks);
const steps = Number(values.steps);
const maxNewTokens = Number(values['max-new-tokens']);
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const backend = await OnnxBackend.load(modelDir, { threads: 1 });
const view = createRgbImage(128, 128, [110, 120, 130]);
const COMMANDS = ['turn left', 'walk forward', 'turn right', 'look up', 'walk back'];

interface Step {
  ms: number;
  tokens: number;
  prompt: number;
  length: number;
}

const open = (cache: 'keep' | 'recompute') => backend.openSession({ task: 'explore', images: [view], seed: 1, sampling: { maxNewTokens }, contextFull: 'drop-oldest', cache });
const kept = await open('keep');
const recomputed = await open('recompute');
const runs: Record<'keep' | 'recompute', Step[]> = { keep: [], recompute: [] };
let drops = 0;
kept.onContextDrop(() => drops++);
{
  const warm = await open('keep');
  for (const c of COMMANDS) await collect(warm.step(c));
}
for (let i = 0; i < steps; i++) {
  const command = COMMANDS[i % COMMANDS.length]!;
  // Interleaved, so drift on a noisy machine hits both the same.
  for (const [name, session] of [['keep', kept], ['recompute', recomputed]] as const) {
    const started = performance.now();
    const r = await collect(session.step(command));
    runs[name].push({ ms: performance.now() - started, tokens: r.usage.generatedTokens, prompt: r.usage.promptTokens, length: session.length });
  }
}
// Spatial consistency over long walks on held-out worlds, judged by the simulator.
const consistency: string[][] = [];
for (const mode of ['interactive', 'free'] as const) {
  const started = performance.now();
  const r = await evaluateWalks(backend, { mode, walks, steps, onProgress: (d, t) => process.stderr.write(`\r${mode} walks ${d}/${t}`) });
  process.stderr.write('\n');
  const views = r.results.reduce((a, x) => a + x.views, 0);
  const empty = r.results.reduce((a, x) => a + x.empty, 0);
  consistency.push([mode, String(walks), String(steps), String(views), String(empty), `${(100 * r.consistency).toFixed(1)}%`, String(r.results.reduce((a, x) => a + x.dropped, 0)), ((performance.now() - started) / 1000).toFixed(0)]);
}
await backend.close();

const at = [1, Math.min(10, steps), steps];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: 'keep' | 'recompute') => {
  const s = runs[name];
  const perToken = (k: number) => s[k - 1]!.ms / s[k - 1]!.tokens;
  // Around step k (k-2..k+2 within the run): single steps are noisy, and drop steps stand out.
  const around = (k: number) => median(s.slice(Math.max(0, k - 3), Math.min(s.length, k + 2)).map((x) => x.ms / x.tokens));
  return [
    name === 'keep' ? 'kept cache' : 're-prefill the history',
    ...at.map((k) => `${s[k - 1]!.ms.toFixed(1)} ms (${s[k - 1]!.prompt} fed, ${s[k - 1]!.tokens} gen); ${around(k).toFixed(2)} ms/token around it`),
    (perToken(steps) / perToken(1)).toFixed(2),
    (around(steps) / around(1)).toFixed(2),
    (s.reduce((a, x) => a + x.ms, 0) / 1000).toFixed(2),
  ];
};
const body = [
  `Command: \`npm run bench:explore -- --steps ${steps} --max-new-tokens ${maxNewTokens} --walks ${walks}${values.model ? ` --model ${values.model}` : ''}\` (bin/bench/exploreBench.ts). ${machineLine()}`,
  `Setup: ${values.model ? `\`${values.model}\` (${backend.manifest.decoder.kvCache} KV cache)` : 'emu-nano'}, 1 ORT thread; one explore session per mode, the same ${steps} scripted commands, contextFull drop-oldest (context 1024 positions; the kept cache dropped turns ${drops} times). Steps interleaved between the modes. "fed" = prompt tokens the step fed (the new turn, or the whole history).`,
  '',
  markdownTable(['mode', ...at.map((k) => `step ${k}`), `ms/token step ${steps} ÷ step 1`, `same, medians around them`, 'total s'], [row('keep'), row('recompute')]),
  '',
  `Target: step ${steps} costs ≤ 1.2× step 1 with the kept cache (per generated token, since steps generate different lengths).`,
  '',
  `Spatial consistency (sim/eval/evaluateWalks.ts): ${walks} held-out explore worlds per mode, ${steps}-step sessions (maxNewTokens 400 per step, drop-oldest). Every view must be the previous one shifted by its camera move on the slots that stay in view; interactive = scripted "look left/right/up/down" user turns (judged by the command), free = empty user turns, the model choosing its moves (judged by its own words). A step with no view counts as a miss.`,
  '',
  markdownTable(['mode', 'walks', 'steps each', 'views judged', 'steps with no view', 'consistency', 'turn drops', 'seconds'], consistency),
  '',
  'Target: ≥ 90% of steps. emu-nano was trained on single-turn explore only (one answer of 2–5 views; 98.8% agreement in bench:tasks). Multi-turn sessions are new to it, which is what these figures show before any multi-turn training.',
].join('\n');
console.log(body);
if (!values['no-write']) writeBenchmarkSection(values.model ? `Exploration sessions (bench:explore, ${backend.manifest.decoder.kvCache} KV: ${values.model})` : 'Exploration sessions (bench:explore)', body);
