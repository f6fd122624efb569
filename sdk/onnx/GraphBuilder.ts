import onnxProto from 'onnx-proto';
import type { ExternalDataFile } from './ExternalDataFile.ts';
import { float32ToHalf } from './floatFormats.ts';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';
/** A graph dimension: a fixed size or a symbolic name. */
export type Dim = number | string;
/** Node attributes, tagged so that `1` can still be a float. */
export type Attr = { int: number } | { float: number } | { ints: number[] } | { string: string };

export const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

export interface GraphBuilderOptions {
  /**
   * Where initializers of at least `externalMinBytes` go (ONNX external data) instead of the
   * protobuf, which cannot exceed 2 GB. Their bytes are written as they are added, so a converter
   * holds one tensor at a time, never the model.
   */
  external?: { file: ExternalDataFile; minBytes?: number };
}

/**
 * A small imperative builder over onnx-proto: each `op()` appends one node and returns its output name,
 * so a graph reads like straight-line code. Names are made unique with a counter.
 */
export class GraphBuilder {
  readonly #nodes: NodeProto[] = [];
  readonly #initializers: TensorProto[] = [];
  readonly #inputs: ValueInfoProto[] = [];
  readonly #outputs: ValueInfoProto[] = [];
  readonly #scalars = new Map<string, string>();
  readonly #domains = new Set<string>();
  readonly #external: GraphBuilderOptions['external'];
  #counter = 0;

  constructor(
    readonly name: string,
    options: GraphBuilderOptions = {},
  ) {
    this.#external = options.external;
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.#inputs.push(valueInfo(name, type, dims));
    return name;
  }

  /** Declares `value` (an existing tensor name) as the graph output `name`. */
  output(name: string, value: string, type: ElemType, dims: Dim[]): void {
    this.op('Identity', [value], {}, name);
    this.declareOutput(name, type, dims);
  }

  /** Lists `name` as a graph output; some node must produce a tensor of that name. Outputs keep declaration order. */
  declareOutput(name: string, type: ElemType, dims: Dim[]): void {
    this.#outputs.push(valueInfo(name, type, dims));
  }

  float(hint: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(hint, dims, values.length);
    return this.initializer(hint, 'float32', dims, bytesOf(values));
  }

  int64(hint: string, dims: number[], data: readonly (number | bigint)[]): string {
    checkSize(hint, dims, data.length);
    const values = BigInt64Array.from(data, (v) => BigInt(v));
    return this.initializer(hint, 'int64', dims, bytesOf(values));
  }

  /** A 0-d constant, shared between uses. */
  scalar(type: 'float32' | 'float16' | 'int64', value: number): string {
    const key = `${type}:${value}`;
    let name = this.#scalars.get(key);
    if (name === undefined) {
      if (type === 'float32') name = this.float('const', [], [value]);
      else if (type === 'int64') name = this.int64('const', [], [value]);
      else name = this.initializer('const', 'float16', [], bytesOf(float32ToHalf(Float32Array.of(value)).bits));
      this.#scalars.set(key, name);
    }
    return name;
  }

  /**
   * An initializer from raw little-endian bytes (`raw` is written or referenced now, not copied later).
   * Large ones go to the external data file when the builder has one.
   */
  initializer(hint: string, type: ElemType, dims: number[], raw: Uint8Array): string {
    const name = this.#fresh(hint);
    const external = this.#external;
    if (external && raw.byteLength >= (external.minBytes ?? 1024)) {
      this.#pushExternal(name, type, dims, external.file.append(raw));
    } else {
      this.#initializers.push({ name, dataType: DATA_TYPE[type], dims, rawData: raw });
    }
    return name;
  }

  /** An initializer whose bytes the caller already streamed into the external data file (`ExternalDataFile.begin/write/end`). */
  externalInitializer(hint: string, type: ElemType, dims: number[], at: { offset: number; length: number }): string {
    if (!this.#external) throw new Error('externalInitializer() needs a GraphBuilder with an external data file');
    const name = this.#fresh(hint);
    this.#pushExternal(name, type, dims, at);
    return name;
  }

  get externalData(): ExternalDataFile | undefined {
    return this.#external?.file;
  }

  #pushExternal(name: string, type: ElemType, dims: number[], { offset, length }: { offset: number; length: number }): void {
    this.#initializers.push({
      name,
      dataType: DATA_TYPE[type],
      dims,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.#external!.file.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(length) },
      ],
    });
  }

  /** Appends one single-output node; `''` in `inputs` skips an optional input. `domain` names a contrib op set (`com.microsoft`). */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputName?: string, domain = ''): string {
    return this.opMulti(opType, inputs, attrs, [outputName ?? this.#fresh(opType)], domain)[0]!;
  }

  /** Appends a node with several outputs (`''` skips an optional one); returns the output names. */
  opMulti(opType: string, inputs: string[], attrs: Record<string, Attr>, outputs: string[], domain = ''): string[] {
    if (domain !== '') this.#domains.add(domain);
    this.#nodes.push({
      opType,
      domain,
      name: this.#fresh(`${opType}_node`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
    });
    return outputs;
  }

  /** Serialized ModelProto. */
  encode(opset = 17, producer = 'emu-robotics'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer,
      opsetImport: [{ domain: '', version: opset }, ...[...this.#domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: this.name,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** A unique tensor name (for outputs of `opMulti`). */
  fresh(hint: string): string {
    return this.#fresh(hint);
  }

  #fresh(hint: string): string {
    return `${hint}_${this.#counter++}`;
  }
}

function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function valueInfo(name: string, type: ElemType, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DATA_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.string) };
}

function checkSize(hint: string, dims: number[], length: number): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) throw new RangeError(`initializer ${hint}: dims [${dims}] need ${expected} values, got ${length}`);
}
