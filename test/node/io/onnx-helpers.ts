/**
 * Helpers of the ONNX export suites: run an exported model in onnxruntime (node or web/wasm), the
 * channels-first view of a MultiImage, relative error max|Δ|/max|y|.
 */
import * as ortNode from 'onnxruntime-node';
import { MultiImage, random, signatureWidth, tensor, type SignatureLike } from '../../../src/index.js';

/** The InferenceSession API both onnxruntime-node and onnxruntime-web expose. */
export interface OrtLike {
  InferenceSession: {
    create(
      bytes: Uint8Array,
      options?: object,
    ): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>; release(): Promise<void> }>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

export async function runOrt(
  bytes: Uint8Array,
  x: Float32Array,
  dims: readonly number[],
  ort: OrtLike = ortNode as unknown as OrtLike,
  options: object = {},
): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(bytes, options);
  try {
    const out = await session.run({ x: new ort.Tensor('float32', x, dims) });
    const y = out.y!;
    return { data: y.data as Float32Array, dims: [...y.dims] };
  } finally {
    await session.release();
  }
}

/** [B, ...spatial, C] data moved to [B, C, ...spatial]. */
export function toChannelsFirst(data: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const B = shape[0]!;
  const C = shape.at(-1)!;
  const P = shape.slice(1, -1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) out[(b * C + c) * P + p] = data[(b * P + p) * C + c]!;
  return out;
}

export const channelsFirstShape = (shape: readonly number[]) => [shape[0]!, shape.at(-1)!, ...shape.slice(1, -1)];

/** max|a − b| / max|b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / Math.max(m, 1e-30);
}

export function randomImage(
  sig: SignatureLike,
  D: number,
  spatial: readonly number[],
  batch: number,
  seed: number,
  isTorus: boolean | readonly boolean[] = true,
): MultiImage {
  const shape = [batch, ...spatial, signatureWidth(sig as never, D)];
  return new MultiImage(
    tensor(
      random.normal(
        random.key(seed),
        shape.reduce((a, b) => a * b),
      ),
      shape,
    ),
    sig,
    D,
    isTorus,
  );
}

export const S = (k: number, parity: 0 | 1, channels: number) => ({ k, parity, channels });
