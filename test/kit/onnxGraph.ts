import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export type ElemType = 'float32' | 'int64' | 'bool';
/** A graph dimension: a fixed size or a symbolic name. */
export type Dim = number | string;
/** Node attributes, tagged so that `1` can still be a float. */
export type Attr = { int: number } | { float: number } | { ints: number[] } | { string: string };

const DATA_TYPE: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

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
  #counter = 0;

  constructor(readonly name: string) {}

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
    return this.#initializer(hint, 'float32', dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  int64(hint: string, dims: number[], data: readonly (number | bigint)[]): string {
    checkSize(hint, dims, data.length);
    const values = BigInt64Array.from(data, (v) => BigInt(v));
    return this.#initializer(hint, 'int64', dims, new Uint8Array(values.buffer));
  }

  /** A 0-d constant, shared between uses. */
  scalar(type: 'float32' | 'int64', value: number): string {
    const key = `${type}:${value}`;
    let name = this.#scalars.get(key);
    if (name === undefined) {
      name = type === 'float32' ? this.float('const', [], [value]) : this.int64('const', [], [value]);
      this.#scalars.set(key, name);
    }
    return name;
  }

  /** Appends one single-output node; `''` in `inputs` skips an optional input. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputName?: string): string {
    const out = outputName ?? this.#fresh(opType);
    this.#nodes.push({
      opType,
      name: this.#fresh(`${opType}_node`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
    });
    return out;
  }

  /** Serialized ModelProto. */
  encode(opset = 17): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'emu-robotics test/kit',
      opsetImport: [{ domain: '', version: opset }],
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

  #initializer(hint: string, type: ElemType, dims: number[], raw: Uint8Array): string {
    const name = this.#fresh(hint);
    this.#initializers.push({ name, dataType: DATA_TYPE[type], dims, rawData: raw });
    return name;
  }

  #fresh(hint: string): string {
    return `${hint}_${this.#counter++}`;
  }
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
