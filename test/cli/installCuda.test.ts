import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realOrt = path.join(root, 'node_modules/onnxruntime-node');
const PROVIDERS = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'];

/** The network is unreachable for the child: every HTTP(S) request goes to a closed local port. */
const OFFLINE: NodeJS.ProcessEnv = { HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', NO_PROXY: '', no_proxy: '' };

function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(GLOBAL_AGENT_|ONNXRUNTIME_NODE_INSTALL|npm_)/i.test(k) || /^(https?|no)_proxy$/i.test(k)) delete env[k];
  return { ...env, ...extra };
}

/** A copy of onnxruntime-node (this platform's binaries only) in a temporary node_modules, its dependencies linked. */
function copyOrt(tmp: string): string {
  const nm = path.join(tmp, 'node_modules');
  const to = path.join(nm, 'onnxruntime-node');
  mkdirSync(to, { recursive: true });
  for (const f of ['package.json', 'dist', 'script']) cpSync(path.join(realOrt, f), path.join(to, f), { recursive: true });
  const bin = path.join('bin/napi-v6', process.platform, process.arch);
  cpSync(path.join(realOrt, bin), path.join(to, bin), { recursive: true });
  for (const dep of ['onnxruntime-common', 'global-agent', 'adm-zip']) symlinkSync(path.join(root, 'node_modules', dep), path.join(nm, dep));
  return to;
}

function binFiles(ortDir: string): string[] {
  return readdirSync(path.join(ortDir, 'bin/napi-v6', process.platform, process.arch)).sort();
}

function installCuda(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'bin/installCuda.ts'), ...args], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The copy's CPU build opens and runs a real model. */
function cpuLoads(ortDir: string): boolean {
  const code = `const ort = require(${JSON.stringify(path.join(ortDir, 'dist/index.js'))});
ort.InferenceSession.create(${JSON.stringify(path.join(root, 'models/emu-nano/vision_encoder.onnx'))}, { executionProviders: ['cpu'] })
  .then((s) => { console.log('OK ' + s.inputNames.join(',')); }).catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && r.stdout.includes('OK pixel_values');
}

function fakeNupkg(file: string, entries: string[]): void {
  const AdmZip = createRequire(path.join(realOrt, 'package.json'))('adm-zip') as new () => { addFile(n: string, b: Buffer): void; writeZip(f: string): void };
  const zip = new AdmZip();
  for (const e of entries) zip.addFile(`runtimes/linux-x64/native/${e}`, Buffer.from(`not really ${e}`));
  zip.writeZip(file);
}

describe('npm run install:cuda and the CPU-only npm ci', function () {
  this.timeout(180_000);
  let tmp: string;
  let ortDir: string;
  let before: string[];

  beforeEach(function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'emu-install-cuda-'));
    ortDir = copyOrt(tmp);
    before = binFiles(ortDir);
    assert.ok(!before.some((f) => PROVIDERS.includes(f)), 'the copy starts as the CPU build');
  });
  afterEach(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('is the npm script install:cuda', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts['install:cuda'], 'tsx bin/installCuda.ts');
  });

  it('offline: exits non-zero saying the download failed and what to do; nothing half-installed, the CPU build still loads', () => {
    const r = installCuda(['--ort-dir', ortDir], cleanEnv(OFFLINE));
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /the download failed/);
    assert.match(r.out, /ECONNREFUSED 127\.0\.0\.1:9/, 'the request really went to the unreachable proxy');
    assert.match(r.out, /api\.nuget\.org/);
    assert.match(r.out, /npm run install:cuda -- --from-nupkg \/path\/to\/microsoft\.ml\.onnxruntime\.gpu\.linux\.\d+\.\d+\.\d+\.nupkg/);
    assert.match(r.out, /was NOT installed/);
    assert.deepEqual(binFiles(ortDir), before);
    assert.ok(cpuLoads(ortDir), 'the CPU build still loads');
  });

  it('also under `npm run` (whose npm_config_* and npm_package_json would make the installer skip silently)', () => {
    // npm run exports the project's .npmrc (onnxruntime-node-install=skip) and names the project root: both must not reach the installer.
    const env = cleanEnv({ ...OFFLINE, npm_config_onnxruntime_node_install: 'skip', npm_config_local_prefix: root, npm_package_json: path.join(root, 'package.json') });
    const r = installCuda(['--ort-dir', ortDir], env);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /the download failed/);
    assert.deepEqual(binFiles(ortDir), before);
  });

  it('--from-nupkg installs offline, checks the files and that the CPU build still loads, then says what CUDA still needs', () => {
    const nupkg = path.join(tmp, 'gpu.nupkg');
    fakeNupkg(nupkg, PROVIDERS);
    const r = installCuda(['--ort-dir', ortDir, '--from-nupkg', nupkg], cleanEnv(OFFLINE));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(binFiles(ortDir), [...before, ...PROVIDERS].sort());
    assert.match(r.out, /installed libonnxruntime_providers_cuda\.so, libonnxruntime_providers_shared\.so/);
    assert.match(r.out, /the CPU build still loads and runs/);
    if (!existsSync('/dev/nvidia0')) assert.match(r.out, /CUDA will run here once these are fixed[\s\S]*no NVIDIA GPU visible/);
    assert.ok(cpuLoads(ortDir));
    const again = installCuda(['--ort-dir', ortDir, '--from-nupkg', nupkg], cleanEnv(OFFLINE));
    assert.equal(again.code, 0);
    assert.match(again.out, /already installed/);
  });

  it('a package without the CUDA provider fails and leaves no part of it behind', () => {
    const nupkg = path.join(tmp, 'partial.nupkg');
    fakeNupkg(nupkg, ['libonnxruntime_providers_shared.so']);
    const r = installCuda(['--ort-dir', ortDir, '--from-nupkg', nupkg], cleanEnv());
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /has no runtimes\/linux-x64\/native\/libonnxruntime_providers_cuda\.so/);
    assert.deepEqual(binFiles(ortDir), before);
  });

  it('a failed --force reinstall puts the installed provider back', () => {
    const good = path.join(tmp, 'gpu.nupkg');
    fakeNupkg(good, PROVIDERS);
    assert.equal(installCuda(['--ort-dir', ortDir, '--from-nupkg', good], cleanEnv()).code, 0);
    const cuda = path.join(ortDir, 'bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
    const installed = readFileSync(cuda, 'utf8');
    const r = installCuda(['--ort-dir', ortDir, '--force'], cleanEnv(OFFLINE));
    assert.equal(r.code, 1, r.out);
    assert.equal(readFileSync(cuda, 'utf8'), installed);
    assert.deepEqual(binFiles(ortDir), [...before, ...PROVIDERS].sort());
  });

  it("npm ci's postinstall: with the project's .npmrc setting it exits before any download; without, it tries NuGet", () => {
    // What npm 10 does in `npm ci` (npm 11 does not run the script at all: allowScripts in package.json).
    const npmrc = readFileSync(path.join(root, '.npmrc'), 'utf8');
    assert.match(npmrc, /^onnxruntime-node-install=skip$/m);
    const cfg = spawnSync('npm', ['config', 'get', 'onnxruntime-node-install'], { cwd: root, encoding: 'utf8', env: cleanEnv() });
    assert.equal(cfg.stdout.trim(), 'skip', `npm reads the project .npmrc: ${cfg.stderr}`);
    const script = path.join(ortDir, 'script/install.js');
    // npm exports the .npmrc value to lifecycle scripts as npm_config_onnxruntime_node_install.
    const skipped = spawnSync(process.execPath, [script], { cwd: ortDir, env: cleanEnv({ ...OFFLINE, GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9', npm_config_onnxruntime_node_install: 'skip' }), encoding: 'utf8', timeout: 60_000 });
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.doesNotMatch(skipped.stdout + skipped.stderr, /ECONNREFUSED|Downloading/);
    const control = spawnSync(process.execPath, [script], { cwd: ortDir, env: cleanEnv({ ...OFFLINE, GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' }), encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(control.status, 0);
    assert.match(control.stderr, /ECONNREFUSED 127\.0\.0\.1:9/, 'without the setting the installer goes to the network');
    assert.deepEqual(binFiles(ortDir), before);
  });

  it('--help exits 0', () => {
    const r = installCuda(['--help'], cleanEnv());
    assert.equal(r.code, 0);
    assert.match(r.out, /--from-nupkg FILE/);
  });
});
