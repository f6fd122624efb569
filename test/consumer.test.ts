// The package's public surface, as a user sees it: test/consumer/consumer.ts imports only
// `emu-robotics/{sdk,planners,bridge,sim}` (package self-reference through package.json "exports")
// and must type-check; a program importing an internal through the same paths must not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(root, 'node_modules/typescript/bin/tsc');

function typecheck(project: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('public surface (emu-robotics/* exports)', () => {
  it('a consumer written against the exports type-checks', function () {
    this.timeout(30_000);
    const { status, output } = typecheck('test/consumer/tsconfig.json');
    assert.equal(status, 0, output);
  });

  it('internals are not exported: importing them fails type-checking', function () {
    this.timeout(30_000);
    // A dot-folder inside the package, so self-references resolve but no glob (tsc include, mocha) sees it.
    const dir = mkdtempSync(path.join(root, 'test/consumer/.internal-'));
    try {
      writeFileSync(
        path.join(dir, 'internal.ts'),
        [
          "import { quickselect, Candidates, logSumExp, mulberry32 } from 'emu-robotics/sdk';",
          "import { PhysicsScene, fnv1a } from 'emu-robotics/sim';",
          'export const used = [quickselect, Candidates, logSumExp, mulberry32, PhysicsScene, fnv1a];',
          '',
        ].join('\n'),
      );
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: '../tsconfig.json', files: ['internal.ts'] }),
      );
      const { status, output } = typecheck(path.relative(root, path.join(dir, 'tsconfig.json')));
      assert.notEqual(status, 0, 'importing internals from the package exports should not type-check');
      for (const name of ['quickselect', 'Candidates', 'logSumExp', 'mulberry32', 'PhysicsScene', 'fnv1a']) {
        assert.match(output, new RegExp(`has no exported member '${name}'`), output);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
