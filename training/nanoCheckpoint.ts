import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { writeSafetensors, type TensorToWrite } from '../sdk/convert/safetensors.ts';
import { emu3Names } from '../sdk/convert/emu3Config.ts';

const { onnx } = onnxProto;

/** emu-nano's architecture facts (training/nano/model.py NanoConfig, as trained). */
export interface NanoShape {
  vocab: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ropeTheta: number;
  eps: number;
  maxPositions: number;
}

/**
 * Writes the shipped emu-nano decoder as a checkpoint in the released Emu3.5 format: `config.json`
 * (an Emu3Config) and F32 safetensors under the official tensor names, so `emu convert decoder` can be
 * proven on a model whose outputs are known (the shipped `decoder.onnx`).
 *
 * The shipped graph came from `torch.onnx.export`, which keeps the names of the norm weights and
 * the embedding but stores each linear layer as an anonymous, transposed `[in, out]` MatMul operand.
 * Their roles are recovered from the graph itself: per layer they appear in module order
 * (q, k, v, o, then the MLP), and of the two `[hidden, intermediate]` ones the gate is the one whose
 * product feeds the SiLU's Sigmoid.
 */
export function writeNanoAsEmu3Checkpoint(decoderOnnx: string, shape: NanoShape, outDir: string): string {
  const model = onnx.ModelProto.decode(readFileSync(decoderOnnx));
  const graph = model.graph!;
  const inits = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const floats = (name: string): Float32Array => {
    const t = inits.get(name);
    if (!t) throw new Error(`${decoderOnnx}: no initializer ${name}`);
    const raw = t.rawData!;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  };

  // MatMul nodes with an initializer operand, in graph order, and whether their output feeds a Sigmoid.
  const sigmoidInputs = new Set(graph.node!.filter((n) => n.opType === 'Sigmoid').map((n) => n.input![0]!));
  const matmuls = graph.node!.filter((n) => n.opType === 'MatMul' && inits.has(n.input![1]!)).map((n) => ({ weight: n.input![1]!, gate: sigmoidInputs.has(n.output![0]!) }));
  const perLayer = 7;
  if (matmuls.length !== shape.layers * perLayer + 1) throw new Error(`${decoderOnnx}: expected ${shape.layers * perLayer + 1} weight MatMuls, found ${matmuls.length}`);

  const tensors: TensorToWrite[] = [];
  const put = (name: string, dims: number[], values: Float32Array) => {
    if (values.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${name}: ${values.length} values for [${dims}]`);
    tensors.push({ name, dtype: 'F32', shape: dims, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
  };
  /** ONNX MatMul operand [in, out] → HF Linear weight [out, in]. */
  const linear = (name: string, weight: string, out: number, inF: number) => put(name, [out, inF], transpose(floats(weight), inF, out));

  put(emu3Names.embed, [shape.vocab, shape.hidden], floats(emu3Names.embed));
  for (let i = 0; i < shape.layers; i++) {
    const n = emu3Names.layer(i);
    const [q, k, v, o, a, b, down] = matmuls.slice(i * perLayer, (i + 1) * perLayer);
    if (!q || !k || !v || !o || !a || !b || !down || a.gate === b.gate) throw new Error(`${decoderOnnx}: layer ${i} does not have one gate projection`);
    const [gate, up] = a.gate ? [a, b] : [b, a];
    linear(n.q, q.weight, shape.heads * shape.headDim, shape.hidden);
    linear(n.k, k.weight, shape.kvHeads * shape.headDim, shape.hidden);
    linear(n.v, v.weight, shape.kvHeads * shape.headDim, shape.hidden);
    linear(n.o, o.weight, shape.hidden, shape.heads * shape.headDim);
    linear(n.gate, gate.weight, shape.intermediate, shape.hidden);
    linear(n.up, up.weight, shape.intermediate, shape.hidden);
    linear(n.down, down.weight, shape.hidden, shape.intermediate);
    put(n.qNorm, [shape.headDim], floats(`model.layers.${i}.self_attn.q_norm.weight`));
    put(n.kNorm, [shape.headDim], floats(`model.layers.${i}.self_attn.k_norm.weight`));
    put(n.inputNorm, [shape.hidden], floats(`model.layers.${i}.input_layernorm.weight`));
    put(n.postNorm, [shape.hidden], floats(`model.layers.${i}.post_attention_layernorm.weight`));
  }
  put(emu3Names.norm, [shape.hidden], floats(emu3Names.norm));
  linear(emu3Names.lmHead, matmuls.at(-1)!.weight, shape.vocab, shape.hidden);

  mkdirSync(outDir, { recursive: true });
  writeSafetensors(path.join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  const config = {
    architectures: ['Emu3ForCausalLM'],
    model_type: 'Emu3',
    vocab_size: shape.vocab,
    hidden_size: shape.hidden,
    intermediate_size: shape.intermediate,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    head_dim: shape.headDim,
    hidden_act: 'silu',
    max_position_embeddings: shape.maxPositions,
    rms_norm_eps: shape.eps,
    rope_theta: shape.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
  };
  writeFileSync(path.join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return outDir;
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** emu-nano as shipped (models/emu-nano/training-summary.json's config). */
export function nanoShape(modelDir: string): NanoShape {
  const summary = JSON.parse(readFileSync(path.join(modelDir, 'training-summary.json'), 'utf8')) as { config: Record<string, number> };
  const manifest = JSON.parse(readFileSync(path.join(modelDir, 'emu-model.json'), 'utf8')) as { decoder: { maxPositions: number } };
  const c = summary.config;
  return {
    vocab: c.vocab_size!,
    hidden: c.d_model!,
    intermediate: c.hidden!,
    layers: c.n_layers!,
    heads: c.n_heads!,
    kvHeads: c.n_kv_heads!,
    headDim: c.head_dim!,
    ropeTheta: c.rope_theta!,
    eps: c.eps!,
    maxPositions: manifest.decoder.maxPositions,
  };
}
