import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** docs/benchmarks.md of this package: each `npm run bench:*` owns one `## Title` section of it. */
export const BENCHMARK_DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));

/** `Machine: <cpu>, N cores, <os>, Node vX. Date: YYYY-MM-DD.`, the line every section starts with. */
export function machineLine(date = new Date()): string {
  const cpus = os.cpus();
  return `Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${os.platform()} ${os.release()}, Node ${process.version}. Date: ${date.toISOString().slice(0, 10)}.`;
}

/** A markdown table from a header row and rows of cells. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Replaces the `## <title>` section (up to the next `## `) with `body`, or appends it; other
 * benches' sections are left as they are.
 */
export function writeBenchmarkSection(title: string, body: string, doc = BENCHMARK_DOC): void {
  mkdirSync(path.dirname(doc), { recursive: true });
  const current = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  const section = `## ${title}\n\n${body.trim()}\n`;
  const start = current.search(new RegExp(`^## ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm'));
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${section}`;
  else {
    const end = current.indexOf('\n## ', start + 1);
    next = `${current.slice(0, start)}${section}${end < 0 ? '' : `\n${current.slice(end + 1)}`}`;
  }
  writeFileSync(doc, next);
}
