import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { markdownTable, writeBenchmarkSection } from '../../bin/bench/benchmarkDoc.ts';

describe('benchmarkDoc', () => {
  const doc = () => path.join(mkdtempSync(path.join(tmpdir(), 'bench-doc-')), 'benchmarks.md');

  it('appends a missing section and replaces only its own on the next run', () => {
    const file = doc();
    writeFileSync(file, '# Benchmarks\n\n## Engine\n\nold engine\n\n## Bridge\n\nbridge rows\n');
    writeBenchmarkSection('Simulator', 'sim v1', file);
    writeBenchmarkSection('Engine', 'new engine', file);
    writeBenchmarkSection('Simulator', 'sim v2', file);
    const text = readFileSync(file, 'utf8');
    assert.equal(text, '# Benchmarks\n\n## Engine\n\nnew engine\n\n## Bridge\n\nbridge rows\n\n## Simulator\n\nsim v2\n');
  });

  it('does not mistake a longer title for the section', () => {
    const file = doc();
    writeFileSync(file, '# Benchmarks\n\n## Engine internals\n\nkeep\n');
    writeBenchmarkSection('Engine', 'rows', file);
    assert.match(readFileSync(file, 'utf8'), /## Engine internals\n\nkeep\n\n## Engine\n\nrows\n$/);
  });

  it('renders a markdown table', () => {
    assert.equal(markdownTable(['a', 'b'], [[1, 'x']]), '| a | b |\n| --- | --- |\n| 1 | x |');
  });
});
