/**
 * `npm run install:cuda [-- --ort-dir DIR] [--from-nupkg FILE] [--force]`: installs onnxruntime-node's
 * CUDA 12 execution provider (libonnxruntime_providers_cuda.so, _shared.so, _tensorrt.so).
 *
 * `npm ci` installs the CPU build only: the root .npmrc sets `onnxruntime-node-install=skip` (npm 10
 * runs onnxruntime-node's postinstall, which then exits at once) and package.json's `allowScripts`
 * keeps npm 11 from running it at all. This script runs onnxruntime-node's own installer explicitly
 * with ONNXRUNTIME_NODE_INSTALL=true, i.e. the linux/x64 requirement cuda12 (it downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from
 * api.nuget.org), or extracts the same files from a .nupkg fetched elsewhere (--from-nupkg, offline).
 *
 * It never leaves a half-installed provider: files that were not there before are removed and files
 * that were are restored when anything fails. Afterwards it checks the files, that the CPU build still
 * loads, and prints what CUDA still needs on this machine (libraries, GPU) from `emu doctor`'s probe.
 * Exit 0: installed; 1: failed (said why and what to do); 2: usage.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultOrtDir, elfNeeded, ortBinDir, probeProviders } from '../sdk/model/checkModel.ts';
import { GraphBuilder } from '../sdk/onnx/GraphBuilder.ts';

const HELP = `usage: npm run install:cuda [-- --ort-dir DIR] [--from-nupkg FILE] [--force]

Installs onnxruntime-node's CUDA 12 provider into node_modules/onnxruntime-node (npm ci installs the
CPU build only). Downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from api.nuget.org through
onnxruntime-node's own installer (HTTPS_PROXY / NO_PROXY are honoured), or, offline, extracts the
files from a .nupkg you downloaded elsewhere.

  --from-nupkg FILE  install from this Microsoft.ML.OnnxRuntime.Gpu.Linux .nupkg instead of downloading
  --ort-dir DIR      the onnxruntime-node package folder (default: the one this project resolves)
  --force            reinstall even when the provider files are already there
  -h, --help         this text`;

const PROVIDER_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'];
const REQUIRED = PROVIDER_FILES.slice(0, 2);

interface NugetPackage {
  name: string;
  version: string;
  url: string;
  /** file name → path inside the .nupkg */
  entries: Record<string, string>;
}

function fail(message: string): never {
  console.error(`install:cuda: ${message}`);
  process.exit(1);
}

/** What onnxruntime-node's installer would fetch, from its own metadata. */
function nugetPackage(ortDir: string): NugetPackage {
  const meta = createRequire(import.meta.url)(path.join(ortDir, 'script', 'install-metadata.js')) as {
    manifests: Record<string, Record<string, { package: string; path: string }>>;
    packages: Record<string, { name: string; versions: { feed: string; version: string }[] }>;
  };
  const manifest = meta.manifests['linux/x64:cuda12'];
  if (!manifest) fail(`onnxruntime-node in ${ortDir} has no linux/x64 CUDA 12 manifest`);
  const first = Object.values(manifest)[0]!;
  const pkg = meta.packages[first.package]!;
  const version = pkg.versions.find((v) => v.feed === 'nuget')?.version ?? pkg.versions[0]!.version;
  const id = pkg.name.toLowerCase();
  return {
    name: pkg.name,
    version,
    url: `https://api.nuget.org/v3-flatcontainer/${id}/${version.toLowerCase()}/${id}.${version.toLowerCase()}.nupkg`,
    entries: Object.fromEntries(Object.entries(manifest).map(([file, e]) => [path.basename(file), e.path])),
  };
}

/** Runs onnxruntime-node's installer for cuda12; resolves with its exit code and output. */
function runOrtInstaller(ortDir: string): Promise<{ code: number; output: string }> {
  // `true` = install what linux/x64 requires, which is exactly `cuda12`, even over existing files.
  // (onnxruntime-node 1.30's parseInstallFlag returns undefined for the value `cuda12` itself, which
  // means "only if files are missing, and never for a local install".)
  const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'true' };
  // The project's .npmrc says skip; `npm run` exports that as npm_config_*: this run is the explicit opt-in.
  delete env.npm_config_onnxruntime_node_install;
  delete env.npm_config_onnxruntime_node_install_cuda;
  delete env.ONNXRUNTIME_NODE_INSTALL_CUDA;
  // Under `npm run` these name the project root, which onnxruntime-node's installer takes for its own dev checkout and skips.
  delete env.npm_config_local_prefix;
  delete env.npm_package_json;
  // onnxruntime-node's installer proxies through global-agent, which reads GLOBAL_AGENT_*: pass the usual variables on.
  const proxy = env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy;
  if (proxy && env.GLOBAL_AGENT_HTTPS_PROXY === undefined) env.GLOBAL_AGENT_HTTPS_PROXY = proxy;
  if (proxy && env.GLOBAL_AGENT_HTTP_PROXY === undefined) env.GLOBAL_AGENT_HTTP_PROXY = env.HTTP_PROXY ?? env.http_proxy ?? proxy;
  const noProxy = env.NO_PROXY ?? env.no_proxy;
  if (noProxy && env.GLOBAL_AGENT_NO_PROXY === undefined) env.GLOBAL_AGENT_NO_PROXY = noProxy;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ortDir, 'script', 'install.js')], { cwd: ortDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const tee = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('error', (err) => resolve({ code: 1, output: output + String(err) }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** Extracts the provider files from a .nupkg (a zip) with adm-zip, onnxruntime-node's own unzipper. */
function extractNupkg(ortDir: string, nupkg: string, pkg: NugetPackage, bin: string): void {
  const AdmZip = createRequire(path.join(ortDir, 'package.json'))('adm-zip') as new (file: string) => {
    getEntry(name: string): { getData(): Buffer } | null;
  };
  let zip: InstanceType<typeof AdmZip>;
  try {
    zip = new AdmZip(nupkg);
  } catch (err) {
    throw new Error(`${nupkg} is not a readable .nupkg (zip): ${(err as Error).message}`);
  }
  const data = Object.entries(pkg.entries).map(([file, inPkg]) => {
    const entry = zip.getEntry(inPkg);
    if (!entry) throw new Error(`${nupkg} has no ${inPkg}: is it ${pkg.name} ${pkg.version}?`);
    return [file, entry.getData()] as const;
  });
  mkdirSync(bin, { recursive: true });
  for (const [file, bytes] of data) {
    // Written beside and renamed: a file is either the old one or the whole new one.
    const to = path.join(bin, file);
    writeFileSync(`${to}.partial`, bytes);
    renameSync(`${to}.partial`, to);
  }
}

/** The CPU build still opens and runs a graph (in a child: a broken native library takes only it down). */
function cpuStillLoads(ortDir: string): { ok: boolean; detail: string } {
  const g = new GraphBuilder('cpu_check');
  const x = g.input('x', 'float32', [1]);
  g.output('y', g.op('Add', [x, x]), 'float32', [1]);
  const code = `const ort = require(${JSON.stringify(path.join(ortDir, 'dist', 'index.js'))});
ort.InferenceSession.create(Buffer.from(require('fs').readFileSync(0, 'utf8'), 'base64'), { executionProviders: ['cpu'] })
  .then((s) => s.run({ x: new ort.Tensor('float32', Float32Array.of(1), [1]) }))
  .then((y) => console.log('OK ' + y.y.data[0]))
  .catch((e) => { console.log('FAIL ' + String(e && e.message || e).split('\\n')[0]); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', code], { input: Buffer.from(g.encode()).toString('base64'), encoding: 'utf8', timeout: 60_000 });
  const ok = r.status === 0 && r.stdout.includes('OK 2');
  return { ok, detail: ok ? 'the CPU build still loads and runs' : (r.stdout + r.stderr).trim().split('\n')[0] || `exit ${r.status}` };
}

function lastErrorLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /^\w*Error\b/.test(l));
  return errors.at(-1) ?? lines.find((l) => /ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|Failed to/.test(l)) ?? lines.at(-1) ?? 'no output';
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'ort-dir': { type: 'string' },
      'from-nupkg': { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`onnxruntime-node ships its CUDA provider for linux/x64 only through this installer; this is ${process.platform}/${process.arch}. Use cpu here, or serve the engine from a linux/x64 GPU host (emu serve --device cuda).`);
  }
  const ortDir = path.resolve(values['ort-dir'] ?? defaultOrtDir());
  if (!existsSync(path.join(ortDir, 'script', 'install.js'))) fail(`${ortDir} is not an onnxruntime-node package (no script/install.js); run npm ci first`);
  const bin = ortBinDir(ortDir);
  const pkg = nugetPackage(ortDir);
  const targets = PROVIDER_FILES.map((f) => path.join(bin, f));
  const installed = () => REQUIRED.every((f) => statSync(path.join(bin, f), { throwIfNoEntry: false })?.isFile());

  if (installed() && !values.force) {
    console.log(`install:cuda: the CUDA provider is already installed in ${bin} (--force reinstalls)`);
  } else {
    // Keep what is there, so that a failure puts the folder back exactly as it was.
    const backups = new Map<string, string>();
    for (const t of targets) {
      if (existsSync(t)) {
        const b = `${t}.emu-backup`;
        copyFileSync(t, b);
        backups.set(t, b);
      }
    }
    const restore = () => {
      for (const t of targets) {
        const b = backups.get(t);
        if (b) renameSync(b, t);
        else rmSync(t, { force: true });
        rmSync(`${t}.partial`, { force: true });
      }
    };
    let error: string | undefined;
    if (values['from-nupkg']) {
      console.log(`install:cuda: extracting the CUDA provider from ${values['from-nupkg']} into ${bin}`);
      try {
        extractNupkg(ortDir, path.resolve(values['from-nupkg']), pkg, bin);
      } catch (err) {
        error = (err as Error).message;
      }
    } else {
      console.log(`install:cuda: downloading ${pkg.name} ${pkg.version} (the CUDA 12 provider, several hundred MB) with onnxruntime-node's installer into ${bin}`);
      const r = await runOrtInstaller(ortDir);
      const proxy = process.env.HTTPS_PROXY ?? process.env.https_proxy ?? process.env.HTTP_PROXY ?? process.env.http_proxy;
      if (r.code !== 0) error = `the download failed (onnxruntime-node's installer exited with ${r.code}: ${lastErrorLine(r.output)}${proxy ? `; through the proxy ${proxy}` : ''})`;
    }
    if (!error && !installed()) error = `the installer finished but ${REQUIRED.filter((f) => !existsSync(path.join(bin, f))).join(', ')} is not in ${bin}`;
    if (error) {
      restore();
      console.error(`install:cuda: ${error}.
The CUDA provider was NOT installed; ${bin} is as it was (the CPU build is untouched).
What to do:
  - check that this machine reaches api.nuget.org over HTTPS (behind a proxy: set HTTPS_PROXY, and NO_PROXY as needed), then run npm run install:cuda again;
  - or offline: on a machine with network, download
      ${pkg.url}
    copy it here and run: npm run install:cuda -- --from-nupkg /path/to/${path.basename(pkg.url)}`);
      return 1;
    }
    for (const b of backups.values()) rmSync(b, { force: true });
    console.log(`install:cuda: installed ${REQUIRED.join(', ')} in ${bin}`);
  }

  const needs = elfNeeded(path.join(bin, REQUIRED[0]!)).filter((l) => /^lib(cuda|cublas|cudnn|curand|cufft)/.test(l));
  if (needs.length > 0) console.log(`install:cuda: the provider links against ${needs.join(', ')}`);
  const cpu = cpuStillLoads(ortDir);
  if (!cpu.ok) {
    console.error(`install:cuda: after the install the CPU build no longer loads: ${cpu.detail}. Reinstall onnxruntime-node: rm -rf ${ortDir} && npm ci`);
    return 1;
  }
  console.log(`install:cuda: ${cpu.detail}`);
  const cuda = probeProviders({ ortDir }).find((p) => p.name === 'cuda')!;
  if (cuda.available) {
    console.log('install:cuda: CUDA is ready: a session ran on the GPU. Use --device cuda (emu generate, emu serve, OnnxBackend.load(dir, { device: "cuda" })).');
  } else {
    console.log(`install:cuda: the provider is installed; CUDA will run here once these are fixed (node bin/emu.js doctor shows them again):`);
    cuda.reasons.forEach((r, i) => console.log(`  - ${r}\n    fix: ${cuda.fixes[i] ?? ''}`));
  }
  return 0;
}

process.exitCode = await main();
