#!/usr/bin/env node
// Runs the mocha suite with tsx and ends with the line CI reads: `N passed, N failed[, N skipped]`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const extra = process.argv.slice(2);
const specs = extra.length > 0 ? extra : ['test/**/*.test.ts'];
const result = spawnSync(
  process.execPath,
  [
    path.join(root, 'node_modules/mocha/bin/mocha.js'),
    '--import=tsx',
    '--reporter', path.join(root, 'test/support/summaryReporter.cjs'),
    '--timeout', '60000',
    ...specs,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, EMU_TEST: '1' } },
);
process.exit(result.status ?? 1);
