/**
 * A small ONNX graph builder: nodes, initializers and attribute values as plain objects shaped like
 * the official schema's messages (onnx-proto's `INodeProto`, `ITensorProto`, ...), encoded by
 * onnx-proto at the end (see ../onnx.ts). Names are generated, so a lowering never collides.
 */

/** onnx.proto TensorProto.DataType values used here. */
export const FLOAT = 1;
export const INT64 = 7;

/** onnx.proto AttributeProto.AttributeType values used here. */
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export type AttrValue = number | string | readonly number[] | { readonly float: number };

export interface NodeObj {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: AttrObj[];
}

export interface AttrObj {
  name: string;
  type: number;
  i?: number;
  f?: number;
  s?: Uint8Array;
  ints?: number[];
}

export interface TensorObj {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

/** Little-endian bytes (TensorProto raw_data is little-endian whatever the host). */
function float32Bytes(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 * data.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i]!, true);
  return out;
}

function int64Bytes(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(8 * data.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setBigInt64(8 * i, BigInt(data[i]!), true);
  return out;
}

function attr(name: string, v: AttrValue): AttrObj {
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: ATTR.INT, i: v };
  if (Array.isArray(v)) return { name, type: ATTR.INTS, ints: [...(v as number[])] };
  return { name, type: ATTR.FLOAT, f: (v as { float: number }).float };
}

export class GraphBuilder {
  readonly nodes: NodeObj[] = [];
  readonly initializers: TensorObj[] = [];
  /** Operator types used, with counts (reported in the metadata and by tests). */
  readonly opCounts = new Map<string, number>();
  /** Prefix of node names: the layer being lowered (e.g. "UNet.embedding.0/ConvContract"). */
  scope = '';
  #counter = 0;
  readonly #int64Cache = new Map<string, string>();

  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Adds a node; returns its (first) output name. */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrValue>> = {}, output?: string): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({
      input: [...inputs],
      output: [out],
      name: this.fresh(this.scope ? `${this.scope}/${opType}` : opType),
      opType,
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    this.opCounts.set(opType, (this.opCounts.get(opType) ?? 0) + 1);
    return out;
  }

  /** A float32 initializer. */
  float(data: ArrayLike<number>, dims: readonly number[], prefix = 'w'): string {
    const name = this.fresh(prefix);
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: float32Bytes(data) });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices); small ones are shared. */
  int64(data: ArrayLike<number>, dims: readonly number[] = [data.length]): string {
    const small = data.length <= 16;
    const key = small ? `${dims.join('x')}:${Array.from(data).join(',')}` : '';
    if (small && this.#int64Cache.has(key)) return this.#int64Cache.get(key)!;
    const name = this.fresh('i');
    this.initializers.push({ name, dims: [...dims], dataType: INT64, rawData: int64Bytes(data) });
    if (small) this.#int64Cache.set(key, name);
    return name;
  }

  reshape(x: string, shape: readonly number[]): string {
    return this.node('Reshape', [x, this.int64(shape)]);
  }

  transpose(x: string, perm: readonly number[]): string {
    return perm.every((p, i) => p === i) ? x : this.node('Transpose', [x], { perm });
  }

  slice(x: string, axis: number, start: number, end: number): string {
    return this.node('Slice', [x, this.int64([start]), this.int64([end]), this.int64([axis])]);
  }
}
