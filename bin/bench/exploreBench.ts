/**
 * `npm run bench:explore`: a 40-step exploration session on emu-nano, per-step latency with the KV
 * cache kept between steps against re-prefilling the whole history every step, and the spatial
 * consistency of long walks judged by the simulator, side by side for the two ways a session can
 * place its commands (`SessionTurns`): `answer` (emu-nano's manifest: each command continues the
 * answer as the next move's narration, re-anchored on the newest view past 5 views) and `user` (each
 * command a new USER turn, the Emu3.5 template's shape, which emu-nano was never trained on).
 *
 *   npm run bench:explore -- [--steps 40] [--walks 20] [--model DIR] [--no-write]
 *
 * `--model`: another emu-nano folder, e.g. one converted with `emu convert decoder --kv-cache shared`
 * (appends in place: a step never copies the history).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { OnnxBackend } from '../../sdk/OnnxBackend.ts';
import type { GenerationSessionOptions } from '../../sdk/session/GenerationSession.ts';
import { collect } from '../../sdk/tasks.ts';
import { evaluateWalks } from '../../sim/eval/evaluateWalks.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { CAMERA_MOVES, makeTaskExample } from '../../sim/tasks/taskExamples.ts';
import { Prng } from '../../sim/world/Prng.ts';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '40' }, walks: { type: 'string', default: '20' }, model: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
});
const walks = Number(values.walks);
const steps = Number(values.steps);
const maxNewTokens = 120;
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const backend = await OnnxBackend.load(modelDir, { threads: 1 });
// A held-out explore world (seed 1000, beyond the consistency walks' 0…walks-1) and scripted camera commands.
const view = renderLayout(makeTaskExample('explore', 'heldout', 1000).inputs[0]!);
const rng = Prng.from('bench-explore');
const commands = Array.from({ length: steps }, () => rng.pick(CAMERA_MOVES).text);

interface Step {
  ms: number;
  tokens: number;
  prompt: number;
  length: number;
}
const SESSIONS = {
  'answer, kept cache': { placement: 'answer', cache: 'keep' },
  'answer, re-prefill the history': { placement: 'answer', cache: 'recompute' },
  'user turns, kept cache': { placement: 'user', cache: 'keep' },
  'user turns, re-prefill the history': { placement: 'user', cache: 'recompute' },
} as const;
type Name = keyof typeof SESSIONS;
const open = (o: Pick<GenerationSessionOptions, 'placement' | 'cache'>) => backend.openSession({ task: 'explore', images: [view], seed: 1, sampling: { maxNewTokens }, contextFull: 'drop-oldest', ...o });
const sessions = Object.fromEntries(await Promise.all(Object.entries(SESSIONS).map(async ([k, o]) => [k, await open(o)]))) as Record<Name, Awaited<ReturnType<typeof open>>>;
const runs = Object.fromEntries(Object.keys(SESSIONS).map((k) => [k, [] as Step[]])) as Record<Name, Step[]>;
const drops = Object.fromEntries(Object.keys(SESSIONS).map((k) => [k, 0])) as Record<Name, number>;
for (const k of Object.keys(SESSIONS) as Name[]) sessions[k].onContextDrop(() => drops[k]++);
{
  const warm = await open({ placement: 'answer', cache: 'keep' });
  for (const c of commands.slice(0, 8)) await collect(warm.step(c));
}
for (let i = 0; i < steps; i++) {
  // Interleaved, so drift on a noisy machine hits every mode the same.
  for (const name of Object.keys(SESSIONS) as Name[]) {
    const session = sessions[name];
    const started = performance.now();
    const r = await collect(session.step(commands[i]!));
    runs[name].push({ ms: performance.now() - started, tokens: r.usage.generatedTokens, prompt: r.usage.promptTokens, length: session.length });
  }
}
// Spatial consistency over long walks on held-out worlds, judged by the simulator.
const consistency: string[][] = [];
for (const placement of ['answer', 'user'] as const) {
  for (const mode of ['interactive', 'free'] as const) {
    const started = performance.now();
    const r = await evaluateWalks(backend, { mode, walks, steps, placement, onProgress: (d, t) => process.stderr.write(`\r${placement} ${mode} walks ${d}/${t}`) });
    process.stderr.write('\n');
    const views = r.results.reduce((a, x) => a + x.views, 0);
    const empty = r.results.reduce((a, x) => a + x.empty, 0);
    const agreeing = r.results.reduce((a, x) => a + x.agreeing, 0);
    const se = Math.sqrt((r.consistency * (1 - r.consistency)) / Math.max(1, views + empty));
    consistency.push([placement, mode, String(walks), String(steps), String(views), String(empty), String(agreeing), `${(100 * r.consistency).toFixed(1)}% ± ${(100 * se).toFixed(1)}`, String(r.results.reduce((a, x) => a + x.dropped, 0)), ((performance.now() - started) / 1000).toFixed(0)]);
  }
}
await backend.close();

const at = [1, Math.min(10, steps), steps];
const window = Math.min(5, steps);
const perToken = (xs: Step[]) => xs.reduce((a, x) => a + x.ms, 0) / xs.reduce((a, x) => a + x.tokens, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Steps that fed only their own turn (no anchoring prefill), in the first and the last quarter of the session.
const continuing = (s: Step[]) => {
  const q = Math.max(2, Math.floor(s.length / 4));
  const cont = (from: number, to: number) => s.slice(from, to).flatMap((x, i) => (from + i > 0 && x.prompt < 20 ? [x.ms / x.tokens] : []));
  const [first, last] = [cont(0, q), cont(s.length - q, s.length)];
  return first.length && last.length ? `${(median(last) / median(first)).toFixed(2)} (${median(first).toFixed(2)} → ${median(last).toFixed(2)} ms)` : '–';
};
const row = (name: Name) => {
  const s = runs[name];
  const one = (k: number) => s[k - 1]!.ms / s[k - 1]!.tokens;
  return [
    name,
    ...at.map((k) => `${s[k - 1]!.ms.toFixed(1)} ms (${s[k - 1]!.prompt} fed, ${s[k - 1]!.tokens} gen, context ${s[k - 1]!.length})`),
    (one(steps) / one(1)).toFixed(2),
    (perToken(s.slice(-window)) / perToken(s.slice(0, window))).toFixed(2),
    continuing(s),
    String(drops[name]),
    (s.reduce((a, x) => a + x.ms, 0) / 1000).toFixed(2),
  ];
};
const body = [
  `Command: \`npm run bench:explore -- --steps ${steps} --walks ${walks}${values.model ? ` --model ${values.model}` : ''}\` (bin/bench/exploreBench.ts). ${machineLine()}`,
  `Setup: ${values.model ? `\`${values.model}\` (${backend.manifest.decoder.kvCache} KV cache)` : 'emu-nano'}, 1 ORT thread, the task preset (Jacobi image decoding), maxNewTokens ${maxNewTokens}; one session per row on held-out explore world 1000, the same ${steps} random camera commands, contextFull drop-oldest (context ${backend.manifest.decoder.maxPositions} positions). Steps interleaved between the rows. "fed" = prompt tokens the step fed; "context" = positions after it. \`answer\` = emu-nano's manifest placement (re-anchors on the newest view every 5 views); \`user\` = each command a new USER turn.`,
  '',
  markdownTable(['session', ...at.map((k) => `step ${k}`), `ms/token step ${steps} ÷ step 1`, `ms/token steps ${steps - window + 1}–${steps} ÷ steps 1–${window}`, 'continuing steps, median ms/token, last quarter ÷ first', 're-anchors / drops', 'total s'], (Object.keys(SESSIONS) as Name[]).map(row)),
  '',
  `Target: step ${steps} costs ≤ 1.2× step 1 with the kept cache (per generated token). The windows of ${window} steps each hold one anchoring prefill (step 1 also encodes the reference image), so they compare like with like. "Continuing steps" are the ones that fed only their own command (no prefill): the cost of a longer context alone.`,
  '',
  `Spatial consistency (sim/eval/evaluateWalks.ts): ${walks} held-out explore worlds (seeds 0…${walks - 1}) per row, ${steps}-step sessions. Every view must be the previous one shifted by its camera move on the slots that stay in view; interactive = scripted random "look left/right/up/down" commands (judged by the command), free = empty commands, the model choosing its moves (judged by its own words). A step with no view counts as a miss. ± is the binomial standard error over steps.`,
  '',
  markdownTable(['placement', 'mode', 'walks', 'steps each', 'views judged', 'steps with no view', 'views agreeing', 'consistency', 'turns/views dropped', 'seconds'], consistency),
  '',
  'Target: ≥ 90% of steps. emu-nano was trained on single explore answers of 2–5 narrated views (98.8% agreement in bench:tasks), never on USER turns after an answer: `user` placement is out of its training, `answer` placement keeps every step in the shape it was trained on.',
].join('\n');
console.log(body);
if (!values['no-write']) writeBenchmarkSection(values.model ? `Exploration sessions (bench:explore, ${backend.manifest.decoder.kvCache} KV: ${values.model})` : 'Exploration sessions (bench:explore)', body);
