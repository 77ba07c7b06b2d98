#!/usr/bin/env node
// Node 20 validates relaxed SIMD only behind a V8 flag that NODE_OPTIONS refuses; set it before any
// wasm is compiled so that the faster variant is used (newer Node has it on by default).
import { setFlagsFromString } from 'node:v8';
setFlagsFromString('--experimental-wasm-relaxed-simd');
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
