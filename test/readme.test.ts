// Every code sample in README.md is executed: ```ts blocks run with `node --import tsx` from a
// folder inside the package (so `emu-robotics/…` self-references resolve) and all of them, `no-run`
// ones included, type-check; ```sh blocks may only name real npm scripts and `emu` commands whose
// `--help` exits 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const scripts = Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts as Record<string, string>);

interface Block {
  lang: string;
  flags: string[];
  code: string;
  line: number;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const re = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    const [lang = '', ...flags] = m[1]!.trim().split(/\s+/);
    out.push({ lang, flags, code: m[2]!, line: markdown.slice(0, m.index).split('\n').length });
  }
  return out;
}

const all = blocks(readme);
const ts = all.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const sh = all.filter((b) => b.lang === 'sh' || b.lang === 'bash');

/** Shell lines that name our tools: `npm …`, `node bin/emu.js …`, `npx emu …`, `emu …`. */
function commandsOf(block: Block): string[][] {
  return block.code
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#'))
    .flatMap((l) => l.split(/\s*&&\s*/))
    .map((l) => l.split(/\s+/));
}

describe('README.md', () => {
  it('has ts samples and sh samples', () => {
    assert.ok(ts.length >= 3, `expected at least 3 ts blocks, found ${ts.length}`);
    assert.ok(sh.length >= 2);
  });

  describe('sh blocks name real npm scripts and emu commands', () => {
    const helps = new Set<string>();
    for (const b of sh) {
      for (const words of commandsOf(b)) {
        if (words[0] === 'npm') {
          it(`line ${b.line}: ${words.slice(0, 3).join(' ')}`, () => {
            const sub = words[1]!;
            if (sub === 'install' || sub === 'i' || sub === 'rebuild') return;
            const script = sub === 'run' ? words[2]! : sub;
            assert.ok(scripts.includes(script), `npm script '${script}' is not in package.json`);
          });
          continue;
        }
        let rest: string[] | undefined;
        if (words[0] === 'node' && words[1] === 'bin/emu.js') rest = words.slice(2);
        else if (words[0] === 'npx' && words[1] === 'emu') rest = words.slice(2);
        else if (words[0] === 'emu') rest = words.slice(1);
        else if (words[0] === 'node' && words[1] === 'test/run.mjs') {
          it(`line ${b.line}: ${words.join(' ')} names a real test file`, () => {
            for (const f of words.slice(2)) assert.ok(readFileSync(path.join(root, f)), f);
          });
          continue;
        }
        if (!rest) continue;
        const cmd = rest[0] === 'sim' ? rest.slice(0, 2) : rest.slice(0, 1);
        const key = cmd.join(' ');
        if (helps.has(key)) continue;
        helps.add(key);
        it(`emu ${key} --help exits 0`, () => {
          const r = spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), ...cmd, '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
          assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        });
      }
    }

    it('mentions every command `emu --help` lists', () => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin/emu.js'), '--help'], { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 0);
      const listed = [...r.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
      assert.ok(listed.length > 0, r.stdout);
      for (const c of listed) assert.match(readme, new RegExp(`emu(\\.js)? ${c}\\b`), `README does not show \`emu ${c}\``);
    });
  });

  describe('ts blocks', function () {
    this.timeout(60_000);
    let dir = '';
    const files: string[] = [];
    before(() => {
      // A dot-folder inside the package: self-references resolve, and no glob (tsc include, mocha) sees it.
      dir = mkdtempSync(path.join(root, 'test/consumer/.readme-'));
      ts.forEach((b, i) => {
        const file = path.join(dir, `block${i}-line${b.line}.ts`);
        writeFileSync(file, b.code);
        files.push(file);
      });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('all type-check against the package exports', () => {
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: '../tsconfig.json', files: files.map((f) => path.basename(f)) }),
      );
      const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false'], {
        cwd: root,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    });

    ts.forEach((b, i) => {
      const skip = b.flags.includes('no-run');
      (skip ? it.skip : it)(`line ${b.line} runs${skip ? ' (no-run)' : ''}`, () => {
        const r = spawnSync(process.execPath, ['--import', 'tsx', files[i]!], { cwd: root, encoding: 'utf8', timeout: 45_000 });
        assert.equal(r.status, 0, `README block at line ${b.line} exited ${r.status}:\n${r.stdout}${r.stderr}`);
      });
    });
  });
});
