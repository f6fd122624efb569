/**
 * `npm start`: the main job. The simulator publishes camera frames and a goal through the bridge's
 * pipeline (in-memory transport); emu-nano plans subgoals with keyframes; the simulator's controller
 * executes them; an HTML report shows each predicted keyframe beside the frame actually reached.
 *
 *   npm start -- [--model DIR] [--suite spatial|object|goal|long] [--split heldout|train] [--seed N] [--out DIR]
 */
import { parseArgs } from 'node:util';
import { runClosedLoop } from './closedLoop.ts';
import { writeClosedLoopReport } from './closedLoopReport.ts';
import type { SuiteName } from '../sim/tasks/suites.ts';
import type { Split } from '../sim/tasks/generateScene.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    suite: { type: 'string', default: 'long' },
    split: { type: 'string', default: 'heldout' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'out/main-job' },
  },
});

const log = { info: (l: string) => console.error(`[bridge] ${l}`), warn: (l: string) => console.error(`[bridge] warning: ${l}`) };
console.error(`emu-robotics main job: closed-loop VLA planning (${values.suite}/${values.split} seed ${values.seed})`);
const result = await runClosedLoop({
  ...(values.model ? { modelDir: values.model } : {}),
  suite: values.suite as SuiteName,
  split: values.split as Split,
  seed: Number(values.seed),
  log,
});
console.error(`goal: ${result.episode.goal}`);
for (const s of result.steps) {
  const agree = s.layoutAgreement === undefined ? '' : ` (keyframe layout agreement ${(s.layoutAgreement * 100).toFixed(0)}%)`;
  const shown = s.instruction.length > 80 ? `${s.instruction.slice(0, 77)}...` : s.instruction;
  console.error(`  ${s.ok ? '✓' : '✗'} ${shown}${s.ok ? '' : ` — ${s.reason?.split(':')[0]}`}${agree}`);
}
const report = await writeClosedLoopReport(result, values.out!);
console.log(`${result.success ? 'SUCCESS' : 'FAILED'}: ${result.steps.filter((s) => s.ok).length}/${result.steps.length} subgoals, ${result.plans} plan(s), ${(result.elapsedMs / 1000).toFixed(1)} s; report: ${report}`);
