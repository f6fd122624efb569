import { parseArgs } from 'node:util';
import { z } from 'zod';
import { TensorQuantRuleSchema } from '../../sdk/convert/DecoderWeights.ts';
import { InputError, parseOrThrow } from '../../sdk/errors.ts';
import { ProgressBar } from './ProgressBar.ts';

const HELP = `usage: emu convert decoder --from HF_DIR --to MODEL_DIR [--dtype fp32|fp16] [--quant int8|int4]
                           [--block-size 16|32|64|128] [--accuracy-level 0|4] [--kv-cache concat|shared]
                           [--tensor-quant PATTERN=dense|int8|int4,...] [--manifest FILE | --no-manifest]
       emu convert vision  --from VQ_DIR --to MODEL_DIR [--emu35-src DIR] [--python-path DIR]

decoder: the released Emu3.5 / Emu3.5-Image decoder (config.json + bf16 safetensors, sharded or not)
  → MODEL_DIR/decoder.onnx + decoder.onnx.data (ONNX external data), streamed tensor by tensor:
  memory stays at a few row chunks, never the model. Writes MODEL_DIR/emu-model.json's decoder
  section from config.json (template: --manifest, else the folder's own, else models/emu35), copies
  emu3.tiktoken when the source folder has it, and records hashes and options in convert.json.
  --dtype       fp32 (default) or fp16 activations, weights and KV cache; bf16 → fp16 overflow is reported
  --quant       weight-only MatMulNBits for every linear layer and lm_head (embeddings stay float)
  --block-size  quantization block along the input dimension (default 32)
  --tensor-quant  mixed precision with --quant: per tensor, the first PATTERN that matches its name
                (\`*\` = any characters) stores it dense (the --dtype) or at other bits, e.g.
                'lm_head.weight=dense,*.self_attn.*=dense' (emu-nano's int8 story figure: bench:quant)
  --kv-cache    concat (default): present = past ++ new, any batch; shared: GroupQueryAttention
                appends in place into a buffer the engine preallocates (no per-step copy of the history)
  --accuracy-level  MatMulNBits compute: 4 (default) int8 compute, the CPU provider's fast kernels;
                0 = exactly the dequantized weights in the activation type (8-bit: ~400x slower on CPU)

vision: the IBQ vision tokenizer (config.yaml + model.ckpt) → vision_encoder.onnx + vision_decoder.onnx
  (fp32), through PyTorch (Debian's python3-torch: training/setup.sh) and the official IBQ code of
  your Emu3.5 checkout (--emu35-src, or EMU35_SRC).`;

const DecoderArgs = z.object({
  from: z.string().min(1, '--from HF_DIR is required'),
  to: z.string().min(1, '--to MODEL_DIR is required'),
  dtype: z.enum(['fp32', 'fp16']).default('fp32'),
  quant: z.enum(['int8', 'int4']).optional(),
  'block-size': z.coerce.number().pipe(z.union([z.literal(16), z.literal(32), z.literal(64), z.literal(128)])).optional(),
  'accuracy-level': z.coerce.number().pipe(z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3), z.literal(4)])).optional(),
  'kv-cache': z.enum(['concat', 'shared']).default('concat'),
  'tensor-quant': z
    .string()
    .transform((v) => v.split(',').filter(Boolean).map((rule) => { const at = rule.lastIndexOf('='); return { pattern: rule.slice(0, at), as: rule.slice(at + 1) }; }))
    .pipe(z.array(TensorQuantRuleSchema))
    .optional(),
  manifest: z.string().optional(),
  'no-manifest': z.boolean().optional(),
});

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (!what || what === '--help' || what === '-h') {
    console.log(HELP);
    return what ? 0 : 2;
  }
  if (what === 'decoder') return decoder(rest);
  if (what === 'vision') return vision(rest);
  throw new InputError('input_invalid', `emu convert: unknown part '${what}' (decoder or vision)`);
}

async function decoder(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string', default: '' },
      to: { type: 'string', default: '' },
      dtype: { type: 'string' },
      quant: { type: 'string' },
      'block-size': { type: 'string' },
      'accuracy-level': { type: 'string' },
      'kv-cache': { type: 'string' },
      'tensor-quant': { type: 'string' },
      manifest: { type: 'string' },
      'no-manifest': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const args = parseOrThrow(DecoderArgs, values, 'emu convert decoder');
  if (args['tensor-quant'] && !args.quant) throw new InputError('input_invalid', '--tensor-quant only applies with --quant int8|int4');
  if (args['block-size'] && !args.quant) throw new InputError('input_invalid', '--block-size only applies with --quant int8|int4');
  const { convertDecoder } = await import('../../sdk/convert/convertDecoder.ts');
  const bars = { hash: new ProgressBar('hashing sources'), convert: new ProgressBar('converting tensors'), write: new ProgressBar('writing graph') };
  const result = convertDecoder({
    from: args.from,
    to: args.to,
    dtype: args.dtype === 'fp16' ? 'float16' : 'float32',
    quant: args.quant,
    blockSize: args['block-size'],
    accuracyLevel: args['accuracy-level'],
    kvCache: args['kv-cache'],
    ...(args['tensor-quant'] ? { tensorQuant: args['tensor-quant'] } : {}),
    manifest: args['no-manifest'] ? null : args.manifest,
    onProgress: (p) => (p.phase === 'hash' ? bars.hash.update(Math.round(p.done / 2 ** 20), Math.round(p.total / 2 ** 20)) : bars[p.phase].update(p.done, p.total)),
  });
  for (const bar of Object.values(bars)) bar.finish();
  const r = result.report;
  const gb = (n: number) => `${(n / 1e9).toFixed(3)} GB`;
  console.log(`wrote ${result.decoderFile} (${result.spec.numLayers} layers, ${result.spec.numKvHeads} KV heads, head dim ${result.spec.headDim}, ${result.spec.dtype}${result.spec.quantization ? `, int${result.spec.quantization.bits} block ${result.spec.quantization.blockSize}` : ''})`);
  console.log(`  weights ${gb(r.dataBytes)} in ${result.dataFile}; ${r.tensors} tensors in ${r.seconds.toFixed(1)} s; peak conversion buffers ${gb(r.peakBufferBytes)}, process max RSS ${gb(r.maxRssBytes)}`);
  if (result.spec.quantization) console.log(`  linear weights: ${r.linear.int8} int8, ${r.linear.int4} int4, ${r.linear.dense} dense`);
  if (result.manifestFile) console.log(`  manifest ${result.manifestFile}`);
  if (r.overflow.length > 0) {
    console.log(`  fp16 OVERFLOW in ${r.overflow.length} tensor(s) (values beyond ±65504 became ±Infinity):`);
    for (const o of r.overflow.slice(0, 10)) console.log(`    ${o.name}: ${o.count} value(s), max |x| ${o.maxAbs.toExponential(3)}`);
    console.log('  consider --dtype fp32, or a quantized variant with fp32 scales');
  }
  if (r.underflow > 0) console.log(`  fp16 underflow: ${r.underflow} non-zero value(s) became 0`);
  if (result.unused.length > 0) console.log(`  ${result.unused.length} checkpoint tensor(s) not used by the decoder, e.g. ${result.unused.slice(0, 3).join(', ')}`);
  return 0;
}

async function vision(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string', default: '' },
      to: { type: 'string', default: '' },
      'emu35-src': { type: 'string' },
      'python-path': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.from || !values.to) throw new InputError('input_invalid', 'emu convert vision needs --from VQ_DIR and --to MODEL_DIR');
  const emu35Src = values['emu35-src'] ?? process.env.EMU35_SRC;
  if (!emu35Src) throw new InputError('input_invalid', 'emu convert vision needs the official Emu3.5 sources: --emu35-src DIR (your Emu3.5 checkout) or EMU35_SRC');
  const { convertVision } = await import('../../sdk/convert/convertVision.ts');
  const result = await convertVision({ from: values.from, to: values.to, emu35Src, ...(values['python-path'] ? { pythonPath: values['python-path'] } : {}) });
  console.log(`wrote ${result.encoderFile} and ${result.decoderFile} (codebook ${result.codebookSize}, downsample ${result.vision.downsample})`);
  console.log(`  manifest ${result.manifestFile}${result.manifestChanges.length ? `: ${result.manifestChanges.join('; ')}` : ''}`);
  console.log(`  record ${result.recordFile}`);
  return 0;
}
