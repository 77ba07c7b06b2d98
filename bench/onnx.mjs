/**
 * A minimal ONNX (protobuf) writer for the benchmark's peer models: one `Pad(mode="wrap")` (opset 19,
 * periodic padding) followed by one `Conv`, with the filter as an initializer. Only the fields used
 * are written (onnx.proto3 numbers):
 *   ModelProto: ir_version 1, graph 7, opset_import 8      GraphProto: node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto: input 1, output 2, name 3, op_type 4, attribute 5
 *   AttributeProto: name 1, i 3, s 4, ints 8, type 20       TensorProto: dims 1, data_type 2, name 8, raw_data 9
 *   ValueInfoProto: name 1, type 2 → TypeProto.tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1
 */

class Writer {
  constructor() {
    this.bytes = [];
  }
  varint(v) {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      this.bytes.push(b);
    } while (n);
    return this;
  }
  tag(field, wire) {
    return this.varint((field << 3) | wire);
  }
  int(field, v) {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field, data) {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field, s) {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field, w) {
    return this.bytesField(field, Uint8Array.from(w.bytes));
  }
  finish() {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;

function tensorProto(name, dims, type, raw) {
  const t = new Writer();
  for (const d of dims) t.int(1, d);
  t.int(2, type).string(8, name).bytesField(9, raw);
  return t;
}

function valueInfo(name, shape) {
  const shapeW = new Writer();
  for (const d of shape) shapeW.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shapeW);
  const type = new Writer().message(1, tensorType);
  return new Writer().string(1, name).message(2, type);
}

function attr(name, value) {
  const a = new Writer().string(1, name);
  if (typeof value === 'string') a.bytesField(4, new TextEncoder().encode(value)).int(20, ATTR_STRING);
  else if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    a.int(20, ATTR_INTS);
  } else a.int(3, value).int(20, ATTR_INT);
  return a;
}

function node(op, inputs, outputs, attrs = {}) {
  const n = new Writer();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, `${op}_0`).string(4, op);
  for (const [k, v] of Object.entries(attrs)) n.message(5, attr(k, v));
  return n;
}

/**
 * Model bytes: y = Conv(Pad_wrap(x)), NCHW / NCDHW. `weight` is Float32Array [Cout, Cin, ...k],
 * `pad` the per-side periodic padding of each spatial axis.
 */
export function wrapConvModel({ inputShape, weight, kernel, pad }) {
  const D = kernel.length;
  const cout = weight.length / (inputShape[1] * kernel.reduce((a, b) => a * b, 1));
  const padded = inputShape.map((d, i) => (i >= 2 ? d + 2 * pad : d));
  const outShape = [inputShape[0], cout, ...padded.slice(2).map((d, i) => d - kernel[i] + 1)];
  const pads = [0, 0, ...new Array(D).fill(pad), 0, 0, ...new Array(D).fill(pad)];
  const padsRaw = new Uint8Array(new BigInt64Array(pads.map(BigInt)).buffer);
  const g = new Writer();
  g.message(1, node('Pad', ['x', 'pads'], ['xp'], { mode: 'wrap' }));
  g.message(
    1,
    node('Conv', ['xp', 'w'], ['y'], {
      kernel_shape: kernel,
      pads: new Array(2 * D).fill(0),
      strides: new Array(D).fill(1),
      dilations: new Array(D).fill(1),
      group: 1,
    }),
  );
  g.string(2, 'wrap_conv');
  g.message(5, tensorProto('w', [cout, inputShape[1], ...kernel], FLOAT, new Uint8Array(weight.buffer, weight.byteOffset, weight.byteLength)));
  g.message(5, tensorProto('pads', [pads.length], INT64, padsRaw));
  g.message(11, valueInfo('x', inputShape));
  g.message(12, valueInfo('y', outShape));
  const m = new Writer();
  m.int(1, 9);
  m.message(7, g);
  m.message(8, new Writer().string(1, '').int(2, 19));
  return { bytes: m.finish(), outShape };
}

const prod = (a) => a.reduce((p, q) => p * q, 1);

/** NHWC-style [B, ...S, C] ↔ NCHW-style [B, C, ...S]. */
export function toChannelsFirst(x, shape) {
  const [B, ...rest] = shape;
  const C = rest.pop();
  const S = prod(rest);
  const y = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) for (let c = 0; c < C; c++) y[(b * C + c) * S + s] = x[(b * S + s) * C + c];
  return y;
}
export function toChannelsLast(y, shape) {
  const [B, C, ...rest] = shape;
  const S = prod(rest);
  const x = new Float32Array(y.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) x[(b * S + s) * C + c] = y[(b * C + c) * S + s];
  return x;
}

/** geoconv filter w[taps, Cin, Cout] → ONNX [Cout, Cin, ...k]. */
export function filterToOnnx(w, taps, cin, cout) {
  const o = new Float32Array(w.length);
  for (let t = 0; t < taps; t++)
    for (let ci = 0; ci < cin; ci++) for (let co = 0; co < cout; co++) o[(co * cin + ci) * taps + t] = w[(t * cin + ci) * cout + co];
  return o;
}
