/**
 * `npm run bench:planners [-- --episodes N] [--model DIR] [--latency-plans N] [--workers K]`
 *
 * The embedded VLA planner beside its floor and ceiling in one run: `emu` (emu-nano by default),
 * `oracle` (plans from the true state) and `trivial`, each through the closed-loop harness on the
 * held-out split of every suite: the four core suites and the five robustness suites (perturb, camera,
 * paraphrase, long8, distractor; sim/GRAMMAR.md), plus perturb with re-planning off. Also the latency of a 3-subgoal VLA plan at 128×128 (held-out
 * long-horizon scenes whose reference plan has 3 subgoals), one plan at a time. Writes the
 * `## Planners` section of docs/benchmarks.md and an HTML report per planner under out/bench-planners/.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import { PlanExecutorOptionsSchema } from '../../planners/PlanExecutor.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { evaluate, type EvalReport } from '../../sim/eval/evaluate.ts';
import { writeReport } from '../../sim/eval/writeReport.ts';
import { createPlanner } from '../../sim/eval/plannerRegistry.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { oraclePlan } from '../../sim/tasks/oraclePlan.ts';
import { makeEpisode, SUITES } from '../../sim/tasks/suites.ts';
import type { SuiteMetrics } from '../../sim/eval/suiteMetrics.ts';

const { values } = parseArgs({
  options: {
    episodes: { type: 'string', default: '20' },
    model: { type: 'string' },
    'latency-plans': { type: 'string', default: '20' },
    workers: { type: 'string', default: '1' },
    out: { type: 'string', default: 'out/bench-planners' },
  },
});
const episodes = Number(values.episodes);
const modelDir = values.model ?? DEFAULT_MODEL_DIR;
const planners = [`emu:${modelDir}`, 'oracle', 'trivial'];

const policyText = () => {
  const p = PlanExecutorOptionsSchema.parse({});
  return `≤ ${p.maxReplans} re-plans per goal part, keyframe check '${p.keyframeCompare}' at ${p.keyframeThreshold}, subgoal timeout ${p.subgoalTimeoutMs / 1000} s, goal wording canonicalised, 'A, then B' goals planned part by part; the judge is the loop's success detector unless stated`;
};
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function latencyOf3SubgoalPlans(count: number): Promise<{ p50: number; p95: number; n: number; tokens: number }> {
  const planner = await createPlanner(`emu:${modelDir}`);
  const latencies: number[] = [];
  let tokens = 0;
  for (let seed = 0; latencies.length < count && seed < count * 50; seed++) {
    const episode = makeEpisode('long', 'heldout', seed);
    if (oraclePlan(episode.layout, episode.predicates).length !== 3) continue;
    const frame = renderLayout(episode.layout);
    const t0 = performance.now();
    const result = await planner.plan({ frame, goal: episode.goal });
    latencies.push(performance.now() - t0);
    tokens += result.usage?.generatedTokens ?? 0;
  }
  return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), n: latencies.length, tokens: tokens / Math.max(1, latencies.length) };
}

function suiteRows(name: string, report: EvalReport): (string | number)[][] {
  const row = (suite: string, m: SuiteMetrics) => [
    name,
    suite,
    m.episodes,
    pct(m.successRate),
    m.avgCompletedLength.toFixed(2),
    pct(m.subgoalSuccessRate),
    m.replansPerEpisode.toFixed(2),
    `${m.planLatencyP50Ms.toFixed(0)} / ${m.planLatencyP95Ms.toFixed(0)}`,
    pct(m.keyframeAgreement),
    m.keyframePsnrDb === null ? '–' : m.keyframePsnrDb.toFixed(1),
  ];
  return [...Object.entries(report.suites).map(([s, m]) => row(s, m)), row('**all**', report.overall)];
}

const rows: (string | number)[][] = [];
for (const planner of planners) {
  const name = planner.startsWith('emu:') ? 'emu-nano' : planner;
  process.stderr.write(`evaluating ${name} on ${episodes} held-out episodes per suite…\n`);
  const report = await evaluate({ planner, suite: 'all', split: 'heldout', episodes, seed: 0, workers: Number(values.workers) });
  writeReport(report, path.join(values.out!, name));
  rows.push(...suiteRows(name, report));
  // The same perturb episodes with re-planning off: what noticing the change is worth.
  const off = await evaluate({ planner, suite: 'perturb', split: 'heldout', episodes, seed: 0, workers: Number(values.workers), replans: 0 });
  writeReport(off, path.join(values.out!, `${name}-perturb-no-replan`));
  rows.push(suiteRows(name, off)[0]!.map((cell, i) => (i === 1 ? 'perturb, re-planning off' : cell)));
  // And with no success detector: the loop notices only through the camera (keyframe checks) and the controller.
  const blind = await evaluate({ planner, suite: 'perturb', split: 'heldout', episodes, seed: 0, workers: Number(values.workers), goalCheck: false });
  rows.push(suiteRows(name, blind)[0]!.map((cell, i) => (i === 1 ? 'perturb, camera only (no goal check)' : cell)));
}
const latency = await latencyOf3SubgoalPlans(Number(values['latency-plans']));

const body = [
  `Command: \`npm run bench:planners${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (bin/bench/plannerBench.ts). ${machineLine()}`,
  `The shipped closed loop (PlanExecutor, the policy \`npm start\` and \`emu bridge\` run: ${policyText()}) in the simulator, physics on, held-out split, ${episodes} episodes per suite (seeds 0…${episodes - 1}), model \`${path.relative(process.cwd(), modelDir) || modelDir}\`.`,
  `Reports with frame strips: \`${values.out}/<planner>/report.html\`.`,
  '',
  markdownTable(['planner', 'suite', 'episodes', 'success', 'avg completed chain', 'subgoal success', 're-plans / episode', 'plan latency p50 / p95 (ms)', 'keyframe layout agreement', 'keyframe PSNR (dB, capped 60)'], rows),
  '',
  markdownTable(
    ['measure', 'result', 'target'],
    [[`3-subgoal VLA plan at 128×128, emu-nano, 1 ORT thread (${latency.n} held-out long-horizon scenes, ${latency.tokens.toFixed(0)} generated tokens per plan)`, `p50 ${latency.p50.toFixed(0)} ms, p95 ${latency.p95.toFixed(0)} ms`, 'p50 ≤ 1500 ms']],
  ),
].join('\n');
writeBenchmarkSection('Planners', body);
console.log(body);
