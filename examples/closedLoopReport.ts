import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '../sdk/image/codec.ts';
import type { RgbImage } from '../sdk/image/RgbImage.ts';
import type { ClosedLoopResult } from './closedLoop.ts';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Writes the closed-loop run as PNGs, `result.json` and an `index.html` (keyframes beside reached frames). */
export async function writeClosedLoopReport(result: ClosedLoopResult, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const png = async (name: string, img: RgbImage) => {
    await writeFile(path.join(outDir, name), encodePng(img));
    return name;
  };
  const initial = await png('initial.png', result.initialFrame);
  const final = await png('final.png', result.finalFrame);
  const rows: string[] = [];
  for (const [i, step] of result.steps.entries()) {
    const key = step.keyframe ? await png(`step${i}-keyframe.png`, step.keyframe) : undefined;
    const reached = await png(`step${i}-reached.png`, step.reached);
    const agreement = step.layoutAgreement === undefined ? '–' : `${(step.layoutAgreement * 100).toFixed(0)}%`;
    rows.push(`<tr><td>${esc(step.planId)}</td><td>${step.index + 1}</td><td>${esc(step.instruction)}</td>
<td>${key ? `<img src="${key}">` : '<em>none</em>'}</td><td><img src="${reached}"></td>
<td class="${step.ok ? 'ok' : 'bad'}">${step.ok ? 'done' : esc(step.reason ?? 'failed')}</td><td>${agreement}</td></tr>`);
  }
  const verdict = result.success ? '<span class="ok">SUCCESS</span>' : '<span class="bad">FAILED</span>';
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>emu-robotics closed loop: ${esc(result.episode.id)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}img{width:128px;height:128px;image-rendering:pixelated;border:1px solid #ccc}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:6px;vertical-align:middle}.ok{color:#070;font-weight:bold}.bad{color:#b00;font-weight:bold}</style></head>
<body><h1>Closed-loop VLA planning: ${verdict}</h1>
<p>Goal: <b>${esc(result.episode.goal)}</b><br>Episode ${esc(result.episode.id)} (suite ${esc(result.episode.suite)}, ${esc(result.episode.split)}), model <code>${esc(result.modelDir)}</code><br>
${result.plans} plan(s), ${result.steps.length} subgoal(s) executed, ${(result.elapsedMs / 1000).toFixed(1)} s${result.error ? `<br>Error: ${esc(result.error)}` : ''}</p>
<p>Start <img src="${initial}"> → end <img src="${final}"></p>
<table><tr><th>plan</th><th>#</th><th>subgoal</th><th>predicted keyframe</th><th>frame reached</th><th>result</th><th>layout agreement</th></tr>
${rows.join('\n')}</table></body></html>`;
  await writeFile(path.join(outDir, 'index.html'), html);
  const { initialFrame, finalFrame, steps, ...summary } = result;
  const json = { ...summary, steps: steps.map(({ keyframe, reached, ...s }) => ({ ...s, hasKeyframe: !!keyframe })) };
  await writeFile(path.join(outDir, 'result.json'), JSON.stringify(json, null, 2));
  return path.join(outDir, 'index.html');
}
