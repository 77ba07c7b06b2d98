/** Types of data.js (plain JavaScript so that make-checkpoint.mjs runs it in Node as is). */
import type { ConvContract, MultiImage } from '../../dist/index.js';

export declare const N: number;
export declare const SCALAR: { k: number; parity: 0 | 1; channels: number }[];
export declare const VECTOR: { k: number; parity: 0 | 1; channels: number }[];
export declare function makeModel(seed: number): ConvContract;
export declare function fields(seed: number, count: number): Float32Array;
export declare function demoTask(seed: number, count: number): { x: MultiImage; y: MultiImage };
