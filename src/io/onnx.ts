/**
 * ONNX export: a trained geoconv model as a standard ONNX graph that ONNX Runtime (native, web,
 * mobile) runs, with torus (periodic) padding kept.
 *
 * How: the forward pass is traced on the ref backend (src/io/onnx/lower.ts). Everything that depends
 * only on the parameters is computed — each ConvContract becomes ONE dense `Conv` whose filter is the
 * invariant-filter combination Σ W·Φ, written by default as W and Φ with the nodes that form it
 * (folded by the runtime at load; `filters: 'dense'` writes the folded filter) — and every primitive that reads the input is written as
 * standard ONNX operators: Conv / ConvTranspose (lhs dilation), Pad(mode=wrap) or Slice+Concat for
 * torus axes, ArgMax + GatherElements for max(-norm) pooling, elementwise ops, ReduceSum/ReduceMax,
 * MatMul, Concat, Gather/Slice for index maps. Since the trace runs the model's own `apply`, every
 * model class (GroupAverage included: its group action is a Gather and a Mul by signs per element)
 * exports the same way, and the graph computes what `apply` computes.
 *
 * Shapes are static: the export is for one batch size and one spatial shape.
 *
 * Layout of the graph's input "x" and output "y" (recorded in the model's metadata_props):
 * channels-first by default, [batch, C, ...spatial], where the channel axis is geoconv's packed axis:
 * keys in canonical order (k, then parity), and inside a key with c channels channel i, tensor
 * component t (row-major over the k indices, each in 0..D-1) at offset(key) + i·D^k + t.
 * With `layout: 'channels-last'` the same channels are the last axis ([batch, ...spatial, C], the
 * layout of `MultiImage.data`).
 */
import { getBackend, setBackend } from '../backends/backend.js';
import { argError, check } from '../core/errors.js';
import { MultiImage } from '../geometric/multi-image.js';
import { signature, signatureWidth, type Signature, type SignatureLike } from '../geometric/signature.js';
import { State } from '../nn/layers/common.js';
import { Module, type Params } from '../nn/module.js';
import { buildModule } from '../nn/registry.js';
import type { KernelTable, OpName } from '../ops/op.js';
import { tensor, tidy, zeros, type Tensor } from '../tensor.js';
import { disposeTree, leavesWithPaths } from '../train/tree.js';
import { treeMap } from '../autodiff.js';
import { version } from '../version.js';
import { FLOAT } from './onnx/graph.js';
import { Lowering, OnnxExportError, physShape } from './onnx/lower.js';

export { OnnxExportError } from './onnx/lower.js';

/** Options of `exportOnnx`: opset, input spatial size and batch, names. */
export interface ExportOnnxOptions {
  /** Spatial shape of the input (D numbers). */
  readonly spatial: readonly number[];
  /** Batch size (default 1). */
  readonly batch?: number;
  /** ONNX opset, 18–21 (default 19: the first with Pad mode "wrap"). */
  readonly opset?: number;
  /** Torus (periodic) axes of the input images: one flag or one per axis (default true). */
  readonly torus?: boolean | readonly boolean[];
  /** Input signature, for models that do not declare one (ModelWrapper). */
  readonly input?: SignatureLike;
  /** Layout of the graph's input and output (default 'channels-first', ONNX's convention). */
  readonly layout?: 'channels-first' | 'channels-last';
  /**
   * How torus padding is written: 'wrap' — one Pad(mode="wrap") per convolution (opset >= 19), or
   * 'slice-concat' — Slice + Concat, for runtimes without wrap padding. Default 'wrap' (and
   * 'slice-concat' when opset is 18). Tried: onnxruntime-node 1.16.3, 1.18.0 and 1.30.0 run wrap on
   * 4-D and 5-D (D = 3) inputs; 1.15.1 has no opset 19 kernels, so it needs opset 18 (Slice + Concat).
   */
  readonly periodicPadding?: 'wrap' | 'slice-concat';
  /**
   * Input-dilated convolutions (the learned upsampling of UNets) as `ConvTranspose` (default true),
   * or as explicit zero insertion (Pad + Reshape + Slice) then `Conv` — for runtimes whose
   * ConvTranspose lacks a rank: onnxruntime-web 1.30's WebGPU provider has no 3-D ConvTranspose.
   */
  readonly convTranspose?: boolean;
  /**
   * How each convolution's filter is written. 'factored' (default): as the learned coefficients times
   * the invariant filters (MatMul, Transpose, Concat over small initializers; ONNX Runtime folds them
   * once when the session is created), where that is smaller — an equivariant model's file shrinks
   * about tenfold. 'dense': one initializer per filter, for tools that want Conv weights as initializers.
   */
  readonly filters?: 'factored' | 'dense';
  /** Batch-norm running statistics (State) of `model`; default: the modules' initial ones. */
  readonly state?: State;
}

const OPSETS = [18, 19, 20, 21];
/** IR version that goes with each opset (onnx/helper.py's table). */
const IR_VERSION: Record<number, number> = { 18: 8, 19: 9, 20: 9, 21: 10 };

/** The model's declared input signature, through wrappers that forward their input unchanged. */
function declaredInput(model: Module): Signature | undefined {
  const own = (model as { input?: unknown }).input;
  if (Array.isArray(own)) return own as Signature;
  if (model.config.type === 'GroupAverage') return declaredInput((model as unknown as { children: ReadonlyMap<string, Module> }).children.get('model')!);
  return undefined;
}

/** @internal The model's D (from the model, its config or a wrapped model), for the CLI's defaults. */
export function modelD(model: Module): number | undefined {
  const d = (model as { D?: unknown }).D ?? model.config.D;
  if (typeof d === 'number') return d;
  const inner = (model as { children?: unknown }).children;
  if (inner instanceof Map)
    for (const m of inner.values()) {
      const c = modelD(m as Module);
      if (c !== undefined) return c;
    }
  return undefined;
}

/** Every module under `model` with a readable path ("UNet/embedding/0/ConvContract"). */
function modulePaths(model: Module, path: string, out: [Module, string][] = []): [Module, string][] {
  const here = path ? `${path}/${model.config.type}` : model.config.type;
  out.push([model, here]);
  const children = (model as { children?: unknown }).children;
  if (children instanceof Map) for (const [name, m] of children) modulePaths(m as Module, `${here}.${name}`, out);
  else model.submodules().forEach((m, i) => modulePaths(m, `${here}.${i}`, out));
  return out;
}

const onRef = (ts: Iterable<Tensor>) => [...ts].every((t) => t.backend.name === 'ref');

/**
 * Exports `model` with parameters `params` as ONNX bytes (a ModelProto, encoded with onnx-proto).
 * The graph has one input "x" and one output "y" (float32, static shapes; see the module comment
 * for their channel layout), and metadata_props "geoconv.*" recording the signatures, D, layout,
 * shapes, torus flags, the model config and the geoconv version.
 * @example
 * const bytes = await exportOnnx(model, model.params, { spatial: [64, 64] });
 * await writeFile('model.onnx', bytes); // onnxruntime: input "x" [1, channels, 64, 64]
 */
export async function exportOnnx(model: Module, params: Params, options: ExportOnnxOptions): Promise<Uint8Array> {
  const fn = 'exportOnnx';
  check(model instanceof Module, fn, 'model', 'a geoconv Module', model);
  check(options !== null && typeof options === 'object', fn, 'options', '{ spatial, batch?, opset?, ... }', options);
  const D = modelD(model);
  check(D === 2 || D === 3, fn, 'model', 'a model with D = 2 or 3', D);
  const spatial = options.spatial;
  check(
    Array.isArray(spatial) && spatial.length === D && spatial.every((n) => Number.isInteger(n) && n >= 1),
    fn,
    'options.spatial',
    `${D} integers >= 1`,
    spatial,
  );
  const batch = options.batch ?? 1;
  check(Number.isInteger(batch) && batch >= 1, fn, 'options.batch', 'an integer >= 1', batch);
  const opset = options.opset ?? 19;
  check(OPSETS.includes(opset), fn, 'options.opset', `one of ${OPSETS.join(', ')}`, opset);
  const layout = options.layout ?? 'channels-first';
  check(layout === 'channels-first' || layout === 'channels-last', fn, 'options.layout', '"channels-first" or "channels-last"', layout);
  const periodicPadding = options.periodicPadding ?? (opset >= 19 ? 'wrap' : 'slice-concat');
  check(periodicPadding === 'wrap' || periodicPadding === 'slice-concat', fn, 'options.periodicPadding', '"wrap" or "slice-concat"', periodicPadding);
  if (periodicPadding === 'wrap' && opset < 19)
    argError(fn, 'options.periodicPadding', `"slice-concat" for opset ${opset} (Pad mode "wrap" needs opset >= 19)`, periodicPadding);
  const convTranspose = options.convTranspose ?? true;
  check(typeof convTranspose === 'boolean', fn, 'options.convTranspose', 'a boolean', convTranspose);
  const filters = options.filters ?? 'factored';
  check(filters === 'factored' || filters === 'dense', fn, 'options.filters', '"factored" or "dense"', filters);
  const torus = options.torus ?? true;
  check(
    typeof torus === 'boolean' || (Array.isArray(torus) && torus.length === D && torus.every((t) => typeof t === 'boolean')),
    fn,
    'options.torus',
    `a boolean or ${D} booleans`,
    torus,
  );
  const declared = declaredInput(model);
  if (!declared && options.input === undefined)
    argError(fn, 'options.input', `the input signature (the ${model.config.type} model does not declare one)`, undefined);
  const input = options.input !== undefined ? signature(options.input, `${fn} options.input`) : declared!;
  if (declared && options.input !== undefined) {
    const s = (sig: Signature) => sig.map((e) => `(${e.k},${e.parity}):${e.channels}`).join(', ');
    check(s(declared) === s(input), fn, 'options.input', `the model's input signature {${s(declared)}}`, `{${s(input)}}`);
  }
  check(options.state === undefined || options.state instanceof State, fn, 'options.state', 'a State', options.state);
  const { default: onnxProto } = await import('onnx-proto');

  // The traced model must live on ref: used as it is when it does, else rebuilt from its config
  // and loaded with host copies of the parameters and statistics (from wasm or a GPU).
  const leaves = leavesWithPaths(params);
  const stateNamed = options.state ? options.state.named(model) : new Map<string, Tensor>();
  const direct = onRef([...leaves.map(([, t]) => t), ...model.buffers(), ...stateNamed.values()]);
  const host = direct ? [] : await Promise.all([...leaves.map(([, t]) => t), ...stateNamed.values()].map((t) => t.data()));

  const previous = getBackend().name;
  setBackend('ref');
  const ref = getBackend('ref');
  const kernels = ref.kernels;
  const owned: { dispose(): void }[] = [];
  const patched: Module[] = [];
  const lw = new Lowering({ opset, periodicPadding, convTranspose, filters });
  let failedAt = '';
  let outSig: Signature | undefined;
  let outShape: number[] = [];
  try {
    let m = model;
    if (!direct) {
      try {
        m = buildModule(model.config, null); // no random draw: the parameters come from `params`
      } catch (e) {
        throw new OnnxExportError(
          `${fn}: cannot rebuild the ${model.config.type} model from its config on the ref backend (${e instanceof Error ? e.message : String(e)})`,
          { cause: e },
        );
      }
      owned.push(m);
    }
    let i = 0;
    const refParams = direct ? params : (treeMap(params, (t) => tensor(host[i++]!, t.shape)) as Params);
    if (!direct) owned.push({ dispose: () => disposeTree(refParams) });
    let state = options.state;
    if (options.state && !direct) {
      const named = new Map([...stateNamed].map(([name, t]) => [name, tensor(host[i++]!, t.shape)] as const));
      state = State.fromNamed(m, named);
      owned.push(state);
    }

    // Layer paths, for node names and error messages.
    for (const [mod, path] of modulePaths(m, '')) {
      const own = mod.apply;
      Object.defineProperty(mod, 'apply', {
        configurable: true,
        writable: true,
        value: function (this: Module, ...args: Parameters<Module['apply']>) {
          const prev = lw.where;
          lw.where = path;
          try {
            return own.apply(this, args);
          } catch (e) {
            failedAt ||= path;
            throw e;
          } finally {
            lw.where = prev;
          }
        },
      });
      patched.push(mod);
    }

    const wrapped = {} as Record<OpName, unknown>;
    for (const op of Object.keys(kernels) as OpName[]) {
      const kernel = kernels[op] as (...a: unknown[]) => void;
      wrapped[op] = (out: unknown, ins: readonly unknown[], attrs: unknown, shapes: never) => {
        if (ins.some((s) => lw.isSym(s))) return lw.lower(op, out, ins, attrs as never, shapes);
        kernel(out, ins, attrs, shapes);
        lw.recordConstant(op, out, ins, attrs, shapes);
      };
    }
    (ref as { kernels: KernelTable<unknown> }).kernels = wrapped as unknown as KernelTable<unknown>;

    const width = signatureWidth(input, D);
    const geoIn = [batch, ...spatial, width];
    const inLayout = layout === 'channels-first' ? 'first' : 'last';
    tidy(() => {
      const x = zeros(geoIn);
      lw.syms.set(x.storage(), { name: 'x', shape: geoIn, layout: inLayout });
      let y: MultiImage;
      try {
        y = m.apply(refParams, new MultiImage(x, input, D, torus), { training: false, ...(state ? { state } : {}) } as never);
      } catch (e) {
        if (e instanceof OnnxExportError) throw e;
        throw new OnnxExportError(`${fn}: the forward pass failed${failedAt ? ` in ${failedAt}` : ''}: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
        });
      }
      outSig = y.signature;
      outShape = [...y.data.shape];
      const storage = y.data.storage();
      if (!lw.isSym(storage)) throw new OnnxExportError(`${fn}: the ${model.config.type} model's output does not depend on its input; nothing to export`);
      lw.where = '';
      const name = inLayout === 'first' ? lw.first(storage, y.data.shape) : lw.last(storage, y.data.shape);
      lw.g.node('Identity', [name], {}, 'y');
    });

    const valueInfo = (name: string, shape: readonly number[]) => ({
      name,
      type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
    });
    const physIn = physShape(geoIn, inLayout);
    const physOut = physShape(outShape, inLayout);
    const sigJson = (s: Signature) => JSON.stringify(s.map((e) => ({ k: e.k, parity: e.parity, channels: e.channels })));
    const torusFlags = typeof torus === 'boolean' ? new Array<boolean>(D).fill(torus) : [...torus];
    const layoutDoc = `${layout === 'channels-first' ? '[batch, C, ...spatial]' : '[batch, ...spatial, C]'}; C = Σ channels·D^k over the signature's keys in canonical order (k, then parity); channel i of a key, tensor component t (row-major over its k indices), is at offset(key) + i·D^k + t`;
    const metadata: Record<string, string> = {
      'geoconv.version': version,
      'geoconv.model': model.config.type,
      'geoconv.D': String(D),
      'geoconv.input.signature': sigJson(input),
      'geoconv.output.signature': sigJson(outSig!),
      'geoconv.layout': layout,
      'geoconv.channel_layout': layoutDoc,
      'geoconv.input.shape': JSON.stringify(physIn),
      'geoconv.output.shape': JSON.stringify(physOut),
      'geoconv.torus': JSON.stringify(torusFlags),
      'geoconv.periodic_padding': periodicPadding,
      'geoconv.config': JSON.stringify(model.config),
    };
    const proto = {
      irVersion: IR_VERSION[opset]!,
      opsetImport: [{ domain: '', version: opset }],
      producerName: 'geoconv',
      producerVersion: version,
      docString: `geoconv ${model.config.type} (D = ${D}) exported for batch ${batch}, spatial ${spatial.join('×')}. Input x and output y: ${layoutDoc}.`,
      graph: {
        name: `geoconv_${model.config.type}`,
        node: lw.g.nodes,
        initializer: lw.g.initializers,
        input: [valueInfo('x', physIn)],
        output: [valueInfo('y', physOut)],
      },
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
    const onnx = (onnxProto as unknown as { onnx: { ModelProto: { encode(m: unknown): { finish(): Uint8Array } } } }).onnx;
    return onnx.ModelProto.encode(proto).finish();
  } finally {
    (ref as { kernels: KernelTable<unknown> }).kernels = kernels;
    for (const mod of patched) delete (mod as { apply?: unknown }).apply;
    for (const o of owned) o.dispose();
    setBackend(previous);
  }
}
