import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InputError } from '../../sdk/errors.ts';
import { checkModel, type ModelCheckReport, ModelCheckReportSchema } from '../../sdk/model/checkModel.ts';
import { DEFAULT_MODEL_DIR } from '../../sdk/model/defaultModel.ts';
import { EMU35_34B, estimateVariant, formatBytes, WEIGHT_VARIANTS, type VariantEstimate } from '../../sdk/model/memoryEstimate.ts';

const HELP = `usage: emu model check [DIR] [--context N] [--streams N] [--json] [--no-probe]
       emu model check --estimate emu35 [--context N] [--streams N] [--block-size N] [--json]
       emu doctor [DIR] [options]          (the same as emu model check)

Checks a model folder (default: models/emu-nano): the manifest, the decoder and vision graphs
opened on CPU as the engine opens them (I/O names, layers, KV heads, head dim, vocabulary, dtype,
logits_to_keep, MatMulNBits quantization), the tokenizer against the vocabulary, which execution
providers (cpu, cuda, webgpu) really run on this machine and what fixes the others, and the memory
the model needs at a context. Exit 0: usable on CPU; 1: not (every problem is listed with its fix).

  --context N      context length for the memory estimate (default 4096)
  --streams N      KV caches held at once: 2 with classifier-free guidance (default 2)
  --estimate emu35 no folder: the memory of the real Emu3.5-34B per weight variant (fp16, int8, int4)
  --block-size N   MatMulNBits block size for --estimate (default 64)
  --json           print the report as JSON
  --no-probe       skip the GPU session probes (static checks only)
  -h, --help       this text`;

const EstimateReportSchema = z.object({
  model: z.literal('emu35-34b'),
  shape: z.object({ hidden: z.number(), layers: z.number(), heads: z.number(), kvHeads: z.number(), headDim: z.number(), intermediate: z.number(), vocab: z.number() }),
  blockSize: z.number().int(),
  prefillChunk: z.number().int(),
  variants: z.array(
    z.object({
      variant: z.enum(['fp16', 'int8', 'int4']),
      parameters: z.number(),
      context: z.number(),
      streams: z.number(),
      weightsBytes: z.number(),
      kvCacheBytes: z.number(),
      logitsBytes: z.number(),
      fullLogitsBytes: z.number(),
      totalBytes: z.number(),
      weights: z.object({ embedding: z.number(), linear: z.number(), norms: z.number(), lmHead: z.number(), total: z.number() }),
    }),
  ),
});

/** `emu model <sub> …`: only `check` for now. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    console.log(HELP);
    return 0;
  }
  if (sub !== 'check') {
    console.error(`emu model: expected 'check', got ${sub ? `'${sub}'` : 'nothing'}\n\n${HELP}`);
    return 2;
  }
  return check(rest);
}

/** `emu doctor [DIR] …` = `emu model check [DIR] …`. */
export const doctor = { run: (argv: string[]) => check(argv) };

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      context: { type: 'string', default: '4096' },
      streams: { type: 'string', default: '2' },
      estimate: { type: 'string' },
      'block-size': { type: 'string', default: '64' },
      json: { type: 'boolean', default: false },
      'no-probe': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const context = positiveInt(values.context, '--context');
  const streams = positiveInt(values.streams, '--streams');
  if (positionals.length > 1) throw new InputError('input_invalid', `one model folder at most, got ${positionals.length}`);
  if (values.estimate !== undefined) {
    if (values.estimate !== 'emu35') throw new InputError('input_invalid', `--estimate knows 'emu35' (the 34B shape), got '${values.estimate}'`);
    if (positionals.length > 0) throw new InputError('input_invalid', '--estimate emu35 takes no model folder');
    const blockSize = positiveInt(values['block-size'], '--block-size');
    const { PREFILL_CHUNK } = await import('../../sdk/runtime/DecoderSession.ts');
    const variants = WEIGHT_VARIANTS.map((v) => estimateVariant(EMU35_34B, v, { context, streams, blockSize, prefillChunk: PREFILL_CHUNK }));
    const report = EstimateReportSchema.parse({ model: 'emu35-34b', shape: EMU35_34B, blockSize, prefillChunk: PREFILL_CHUNK, variants });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatEstimate(variants, blockSize, PREFILL_CHUNK));
    return 0;
  }
  const dir = positionals[0] ?? DEFAULT_MODEL_DIR;
  const report = await checkModel(dir, { context, streams, skipLiveProbes: values['no-probe'] });
  console.log(values.json ? JSON.stringify(ModelCheckReportSchema.parse(report), null, 2) : formatReport(report));
  return report.usable ? 0 : 1;
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InputError('input_invalid', `${flag} must be a positive integer, got '${text}'`);
  return n;
}

const OK = 'ok  ';
const BAD = 'FAIL';

export function formatReport(r: ModelCheckReport): string {
  const out: string[] = [`emu model check ${r.dir}`];
  const has = (area: string) => r.problems.some((p) => p.area === area || (area === 'manifest' && p.area === 'files'));
  if (r.manifest) out.push(`  manifest   ${has('manifest') ? BAD : OK}  ${r.manifest.name} v${r.manifest.version}`);
  else out.push(`  manifest   ${BAD}  not loaded`);
  const d = r.decoder;
  if (d) {
    const q = d.structure?.matMulNBits;
    const quant = q && q.nodes > 0 ? `${q.nodes} MatMulNBits (${q.bits.join('/')}-bit, block ${q.blockSizes.join('/')})` : 'not quantized';
    const kv = d.kvCache === 'shared' ? `, shared KV (${d.structure?.groupQueryAttention ?? 0} GroupQueryAttention)` : '';
    const ext = d.structure && d.structure.externalData.length > 0 ? `, external data ${d.structure.externalData.map((e) => e.file).join(', ')}` : '';
    out.push(
      `  decoder    ${has('decoder') ? BAD : OK}  ${d.file}: ${d.layers ?? '?'} layers, ${d.kvHeads ?? '?'} KV heads × head dim ${d.headDim ?? '?'}, vocab ${d.vocab ?? '?'}, ${d.dtype ?? '?'}, ${d.logitsToKeep ? `logits_to_keep '${d.logitsToKeep}'` : 'no logits_to_keep (logits for every position)'}, ${quant}${kv}${ext}`,
    );
  }
  if (r.vision) out.push(`  vision     ${r.vision.ok ? OK : BAD}  ${r.vision.encoder?.file ?? '?'} + ${r.vision.decoder?.file ?? '?'} (downsample ${r.vision.downsample})`);
  const t = r.tokenizer;
  if (t) out.push(`  tokenizer  ${has('tokenizer') ? BAD : OK}  ${t.file}: ${t.ranks} ranks + ${t.specialTokens} special + ${t.visualTokens} visual = ${t.vocabSize} tokens${d?.vocab != null ? ` (decoder logits: ${d.vocab})` : ''}`);
  out.push('providers');
  for (const p of r.providers) {
    const lines = p.available ? [p.checks.map((c) => c.detail).at(-1) ?? ''] : p.reasons;
    lines.forEach((l, i) => out.push(i === 0 ? `  ${p.name.padEnd(8)} ${p.available ? 'yes ' : 'no  '}  ${l}` : `                 ${l}`));
    p.fixes.forEach((f, i) => out.push(`                 ${i === 0 ? 'fix: ' : 'then:'} ${f}`));
  }
  const m = r.memory;
  if (m) {
    out.push(`memory at context ${m.context} × ${m.streams} streams`);
    out.push(`  weights    ${formatBytes(m.weightsBytes)}  (decoder ${formatBytes(m.decoderWeightsBytes)}, vision ${formatBytes(m.visionWeightsBytes)})`);
    out.push(`  KV cache   ${formatBytes(m.kvCacheBytes)}  (${d?.layers} layers × 2 × ${d?.kvHeads} KV heads × ${d?.headDim} × ${m.context} × ${m.streams} × ${d?.dtype === 'float16' ? 2 : 4} B)`);
    const rows = d?.logitsToKeep ? '1 row' : `${Math.min(m.context, m.prefillChunk)} rows`;
    const why = d?.logitsToKeep ? 'logits_to_keep' : `no logits_to_keep; the engine prefills ${m.prefillChunk} tokens per pass`;
    out.push(`  logits     ${formatBytes(m.logitsBytes)}  (${rows} × ${d?.vocab} × 4 B: ${why})`);
    out.push(`  total      ${formatBytes(m.totalBytes)}  (this machine: ${formatBytes(m.machineBytes)})`);
    if (d?.kvCache === 'concat') out.push(`  note: the concat KV layout holds past and present during a step, ${formatBytes(m.kvCacheBytes / m.streams)} more for a moment`);
  }
  for (const w of r.warnings) out.push(`warning: ${w.message}${w.fix ? `\n  fix: ${w.fix}` : ''}`);
  if (r.problems.length > 0) {
    out.push(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}:`);
    r.problems.forEach((p, i) => out.push(`  ${i + 1}. [${p.area}] ${p.message}\n     fix: ${p.fix}`));
    out.push('result: NOT usable');
  } else {
    const gpus = r.providers.filter((p) => p.available && p.name !== 'cpu').map((p) => p.name);
    out.push(`result: usable on cpu${gpus.length > 0 ? ` and ${gpus.join(', ')}` : ''}`);
  }
  return out.join('\n');
}

function formatEstimate(vs: VariantEstimate[], blockSize: number, chunk: number): string {
  const v0 = vs[0]!;
  const s = EMU35_34B;
  const out = [
    `Emu3.5-34B (hidden ${s.hidden}, ${s.layers} layers, ${s.heads} heads, ${s.kvHeads} KV heads × ${s.headDim}, MLP ${s.intermediate}, vocab ${s.vocab}; ${(v0.parameters / 1e9).toFixed(2)}B parameters)`,
    `context ${v0.context} × ${v0.streams} streams; KV cache fp16; int8/int4 = MatMulNBits block ${blockSize} on every linear layer incl. lm_head (fp16 scale + zero point per block), embeddings and norms fp16`,
    '',
    `  variant  ${'weights'.padEnd(22)}  ${'KV cache'.padEnd(22)}  ${'logits'.padEnd(22)}  total`,
  ];
  for (const v of vs) out.push(`  ${v.variant.padEnd(7)}  ${formatBytes(v.weightsBytes).padEnd(22)}  ${formatBytes(v.kvCacheBytes).padEnd(22)}  ${formatBytes(v.logitsBytes).padEnd(22)}  ${formatBytes(v.totalBytes)}`);
  out.push('');
  const rows = Math.min(v0.context, chunk);
  out.push(`logits are one row with logits_to_keep (emu convert exports it); without it each ${chunk}-token prefill pass holds ${rows} × ${s.vocab} × 4 B = ${formatBytes(v0.fullLogitsBytes)} (one ${v0.context}-token pass would hold ${formatBytes(v0.context * s.vocab * 4)}).`);
  out.push(`not counted: other activations (fp32 attention scores of one ${chunk}-token prefill pass at context ${v0.context}: ${s.heads} × ${rows} × ${v0.context} × 4 B = ${formatBytes(s.heads * rows * v0.context * 4)}), onnxruntime's arena, and the concat KV layout's past + present during a step (+${formatBytes(v0.kvCacheBytes / v0.streams)}).`);
  return out.join('\n');
}
