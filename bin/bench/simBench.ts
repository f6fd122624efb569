/**
 * `npm run bench:sim`: rendering, perception, physics controller, closed-loop episodes and export
 * throughput; prints a table and writes the `## Simulator` section of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { machineLine, markdownTable, writeBenchmarkSection } from './benchmarkDoc.ts';
import os from 'node:os';
import path from 'node:path';
import { OraclePlanner } from '../../planners/OraclePlanner.ts';
import { runEpisode } from '../../sim/eval/runEpisode.ts';
import { simOracleSolver } from '../../sim/eval/simOracleSolver.ts';
import { WorldView } from '../../sim/eval/WorldView.ts';
import { encodePng } from '../../sdk/image/encodePng.ts';
import { exportTask } from '../../sim/export/exportTask.ts';
import { perceiveLayout } from '../../sim/perception/perceiveLayout.ts';
import { renderLayout } from '../../sim/render/renderLayout.ts';
import { makeEpisode, SUITES } from '../../sim/tasks/suites.ts';
import { PhysicsScene } from '../../sim/world/PhysicsScene.ts';

const rows: [string, string][] = [];

function rate(label: string, n: number, ms: number, unit: string): number {
  const perSec = (n * 1000) / ms;
  rows.push([label, `${perSec.toFixed(perSec < 100 ? 1 : 0)} ${unit}`]);
  console.log(`${label.padEnd(48)} ${perSec.toFixed(1)} ${unit}`);
  return perSec;
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const layouts = Array.from({ length: 50 }, (_, i) => makeEpisode('long', 'train', i).layout);
for (const size of [{ width: 128, height: 128 }, { width: 640, height: 480 }]) {
  const n = size.width === 128 ? 5000 : 300;
  renderLayout(layouts[0]!, size);
  rate(`render ${size.width}×${size.height}`, n, time(() => { for (let i = 0; i < n; i++) renderLayout(layouts[i % 50]!, size); }), 'frames/s');
  const frame = renderLayout(layouts[1]!, size);
  rate(`perceive ${size.width}×${size.height}`, n, time(() => { for (let i = 0; i < n; i++) perceiveLayout(frame); }), 'frames/s');
  rate(`encode PNG ${size.width}×${size.height}`, n / 5, time(() => { for (let i = 0; i < n / 5; i++) encodePng(frame); }), 'frames/s');
}

{
  let steps = 0;
  let transfers = 0;
  const ms = await (async () => {
    const t = performance.now();
    for (let i = 0; i < 20; i++) {
      const scene = await PhysicsScene.create(layouts[i]!);
      const blocks: { r: number; c: number }[] = [];
      layouts[i]!.forEach((row, r) => row.forEach((cell, c) => cell?.stack.length && blocks.push({ r, c })));
      for (let k = 0; k + 1 < blocks.length; k += 2) {
        steps += scene.transfer(blocks[k]!, blocks[k + 1]!).steps;
        transfers++;
      }
      scene.dispose();
    }
    return performance.now() - t;
  })();
  rate('physics controller steps (Rapier, transfers)', steps, ms, 'steps/s');
  rate('skill transfers (pick, carry, place, settle)', transfers, ms, 'transfers/s');
}

for (const physics of [true, false]) {
  const view = new WorldView();
  const planner = new OraclePlanner({ solve: simOracleSolver(view) });
  let n = 0;
  const t = performance.now();
  for (const suite of SUITES) {
    for (let seed = 0; seed < 15; seed++, n++) await runEpisode(makeEpisode(suite, 'heldout', seed), planner, { physics, view });
  }
  rate(`oracle episodes, all suites, physics ${physics ? 'on' : 'off'} (1 core)`, n * 60, performance.now() - t, 'episodes/min');
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'emu-simbench-'));
let vlaPerSec = 0;
for (const workers of [1, 2]) {
  const count = 1000;
  const summary = await exportTask({ task: 'vla', split: 'train', count, out: path.join(tmp, `w${workers}`), workers });
  vlaPerSec = Math.max(vlaPerSec, rate(`export vla, ${workers} worker(s), ${count} examples`, count, summary.elapsedMs, 'examples/s'));
}
rmSync(tmp, { recursive: true, force: true });
rows.push(['→ 30k vla examples at the better rate', `${(30000 / vlaPerSec / 60).toFixed(1)} min`]);
console.log(rows.at(-1)!.join(': '));

const section = `Command: \`npm run bench:sim\` (bin/bench/simBench.ts). ${machineLine()} Worker start-up (tsx in each thread, a few seconds) is included in the 2-worker export figure.

${markdownTable(['measure', 'result'], rows)}

Rendering is a patch copy per slot (16×16 patches cached by slot contents); 640×480 adds a
nearest-neighbour letterbox. Episodes with physics step Rapier through every gripper motion and
until the scene settles; the export uses the exact logical transfer instead (same frames when
nothing topples, which the oracle guarantees; \`--physics\` replays plans in Rapier).
`;
writeBenchmarkSection('Simulator', section);
console.log('wrote the Simulator section of docs/benchmarks.md');
