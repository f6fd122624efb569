import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../../sdk/output/outputFolder.ts';
import type { EvalReport } from './evaluate.ts';
import type { EpisodeResult } from './runEpisode.ts';
import type { SuiteMetrics } from './suiteMetrics.ts';

/**
 * Writes `results.json` (frames left out) and `report.html` (tables, SVG bars, frame strips), each
 * whole or not at all (temp file + rename). Returns the paths. `emu sim eval` calls it inside a fresh
 * folder that then replaces `--out` whole.
 */
export function writeReport(report: EvalReport, outDir: string): { json: string; html: string } {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'results.json');
  const html = path.join(outDir, 'report.html');
  const lean = { ...report, episodes: report.episodes.map(withoutFrames) };
  writeFileAtomicSync(json, JSON.stringify(lean, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
  writeFileAtomicSync(html, renderHtml(report));
  return { json, html };
}

function withoutFrames(e: EpisodeResult): EpisodeResult {
  const { start: _start, ...rest } = e;
  return { ...rest, subgoals: e.subgoals.map(({ planned: _p, reached: _r, ...s }) => s) };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, d = 2) => (x === null ? '–' : x.toFixed(d));

function renderHtml(report: EvalReport): string {
  const rows = [...Object.entries(report.suites), ['all', report.overall] as const];
  const o = report.options;
  return `<!doctype html><html><head><meta charset="utf-8"><title>emu sim eval: ${esc(o.planner)}</title>
<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#eee}.strip{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0 20px}.f{font-size:11px;width:136px}.f img{width:128px;image-rendering:pixelated;border:1px solid #999}
.bad{color:#b00}.ok{color:#070}</style></head><body>
<h1>emu sim eval — planner <code>${esc(o.planner)}</code></h1>
<p>split <b>${o.split}</b>, ${o.episodes} episodes per suite, seed ${o.seed}, physics ${o.physics ? 'on' : 'off'}, ≤${o.replans ?? o.replan.maxReplans} re-plans, ${(report.elapsedMs / 1000).toFixed(1)} s.</p>
<table><tr><th>suite</th><th>episodes</th><th>success</th><th>completed / chain</th><th>subgoal success</th><th>plans/ep</th><th>latency p50 / p95 ms</th><th>keyframe agreement</th><th>keyframe exact</th><th>PSNR dB (≤60)</th><th>errors</th></tr>
${rows.map(([name, m]) => metricRow(name, m)).join('\n')}</table>
<h2>Success rate</h2>${bars(rows.map(([name, m]) => [name, m.successRate]))}
<h2>Plan latency p95 (ms)</h2>${bars(rows.map(([name, m]) => [name, m.planLatencyP95Ms]), false)}
<h2>Episodes</h2>${report.episodes.filter((e) => e.start && (!e.success || e.seed - report.options.seed < report.options.keepFrames)).map(strip).join('\n')}
</body></html>
`;
}

function metricRow(name: string, m: SuiteMetrics): string {
  return `<tr><th>${esc(name)}</th><td>${m.episodes}</td><td>${pct(m.successRate)}</td><td>${num(m.avgCompletedLength)} / ${num(m.avgChainLength)}</td><td>${pct(m.subgoalSuccessRate)}</td><td>${num(m.plansPerEpisode)}</td><td>${num(m.planLatencyP50Ms)} / ${num(m.planLatencyP95Ms)}</td><td>${pct(m.keyframeAgreement)}</td><td>${pct(m.keyframeExactRate)}</td><td>${num(m.keyframePsnrDb, 1)}</td><td>${m.errors}</td></tr>`;
}

function bars(items: readonly (readonly [string, number])[], fraction = true): string {
  const max = fraction ? 1 : Math.max(1e-9, ...items.map(([, v]) => v));
  const h = 22;
  const body = items
    .map(([label, v], i) => {
      const w = (300 * v) / max;
      return `<text x="0" y="${i * h + 15}" font-size="12">${esc(label)}</text><rect x="70" y="${i * h + 4}" width="${w.toFixed(1)}" height="14" fill="#4a7"/><text x="${(76 + w).toFixed(1)}" y="${i * h + 15}" font-size="12">${fraction ? pct(v) : v.toFixed(2)}</text>`;
    })
    .join('');
  return `<svg width="460" height="${items.length * h + 4}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

function strip(e: EpisodeResult): string {
  const frames = e.subgoals
    .map((s, k) => {
      const planned = s.planned ? `<img src="${s.planned}" title="planned">` : '';
      const reached = s.reached ? `<img src="${s.reached}" title="reached">` : '';
      const verdict = s.ok ? '<span class="ok">ok</span>' : `<span class="bad">${esc(s.reason ?? 'failed')}</span>`;
      return `<div class="f">${k + 1}. ${esc(s.instruction)} — ${verdict}<br>${planned ? `planned:<br>${planned}<br>` : ''}reached:<br>${reached}</div>`;
    })
    .join('');
  const verdict = e.success ? '<span class="ok">success</span>' : `<span class="bad">failure${e.error ? `: ${esc(e.error)}` : ''}</span>`;
  return `<h3>${esc(e.id)} (${esc(e.family)}) — ${verdict}</h3><p>${esc(e.goal)}</p><div class="strip"><div class="f">start<br><img src="${e.start}"></div>${frames}</div>`;
}
