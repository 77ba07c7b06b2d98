/**
 * The module registry (src/nn/registry.ts): every exported module class can be rebuilt from its
 * config by type, user registrations come first, and bad registrations are refused.
 */
import { describe, expect, it } from 'vitest';
import * as geoconv from '../../../src/index.js';
import { Module, buildModule, moduleTypes, registerModule, random, setBackend, type ModuleConfig } from '../../../src/index.js';

setBackend('ref');

describe('module registry', () => {
  it('every exported Module class is a built-in type, and every built-in type is an exported class', () => {
    const classes = Object.entries(geoconv)
      .filter(([, v]) => typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Module)
      .map(([name]) => name)
      .sort();
    expect(classes.length).toBeGreaterThan(15);
    const types = moduleTypes();
    expect([...types].sort()).toEqual(classes);
  });

  it('a built config rebuilds its own class (the type names the class)', () => {
    const conv = buildModule({ type: 'Conv', D: 2, inChannels: 1, outChannels: 2, kernel: 3 } as unknown as ModuleConfig, random.key(0));
    expect(conv).toBeInstanceOf(geoconv.Conv);
    const seq = buildModule({ type: 'Sequential', layers: [conv.config, { type: 'Identity' }] }, random.key(1));
    expect(seq).toBeInstanceOf(geoconv.Sequential);
    expect((seq as geoconv.Sequential).layers[1]).toBeInstanceOf(geoconv.Identity);
    seq.dispose();
    conv.dispose();
  });

  it('registerModule: a user type is built and listed; it takes precedence over a built-in of the same name; bad arguments are refused', () => {
    class Twice extends geoconv.Identity {}
    registerModule('RegistryTestTwice', (_c, key) => new Twice(undefined, key));
    expect(moduleTypes().at(-1)).toBe('RegistryTestTwice');
    expect(buildModule({ type: 'RegistryTestTwice' }, random.key(0))).toBeInstanceOf(Twice);
    registerModule('Identity', (_c, key) => new Twice(undefined, key));
    try {
      expect(buildModule({ type: 'Identity' }, null)).toBeInstanceOf(Twice);
      expect(moduleTypes().filter((t) => t === 'Identity').length).toBe(1);
    } finally {
      registerModule('Identity', (c, key) => new geoconv.Identity(c, key));
    }
    expect(buildModule({ type: 'Identity' }, null)).not.toBeInstanceOf(Twice);
    expect(() => registerModule('', () => new geoconv.Identity())).toThrow(/registerModule: type must be a non-empty string/);
    expect(() => registerModule('X', 'nope' as never)).toThrow(/registerModule: build must be a function/);
    expect(() => buildModule({ type: 'Nope' }, null)).toThrow(/buildModule: config.type must be one of .*UNet.*RegistryTestTwice.* \(got "Nope"\)/);
    expect(() => buildModule({ type: 'constructor' }, null)).toThrow(/config.type must be one of/);
  });
});
