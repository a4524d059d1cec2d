import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WASM_BINARY_BASE64, WASM_BINARY_BYTES, WASM_RELAXED_BASE64, WASM_RELAXED_BYTES } from './wasm-binary.generated';

const file = new URL('../wasm/dino-kernels.wasm', import.meta.url);
const relaxedFile = new URL('../wasm/dino-kernels-relaxed.wasm', import.meta.url);

/** Ids of the sections of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  let p = 8;
  const ids: number[] = [];
  while (p < bytes.length) {
    const id = bytes[p++];
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[p++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    p += size;
  }
  return ids;
}

describe('the compiled kernel module', () => {
  it('is embedded byte for byte (src/wasm-binary.generated.ts is up to date with wasm/)', () => {
    for (const [f, b64, n] of [[file, WASM_BINARY_BASE64, WASM_BINARY_BYTES], [relaxedFile, WASM_RELAXED_BASE64, WASM_RELAXED_BYTES]] as const) {
      const embedded = Buffer.from(b64, 'base64');
      expect(embedded.length).toBe(n);
      expect(embedded.equals(readFileSync(f))).toBe(true);
    }
  });

  it('the relaxed GEMM module has no data segment either', () => {
    const ids = sectionIds(readFileSync(relaxedFile));
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(12);
  });

  it('imports only the memory and has no data segment (it runs on the backend heap)', async () => {
    const mod = await WebAssembly.compile(readFileSync(file));
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const exports = WebAssembly.Module.exports(mod).map((e) => e.name);
    for (const name of ['gemm_strided', 'transpose32', 'unary_f32', 'binary_f32', 'reduce_f32', 'slice32', '__stack_pointer']) {
      expect(exports).toContain(name);
    }
    // Section ids 11 (data) and 12 (data count) must be absent.
    const ids = sectionIds(readFileSync(file));
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(12);
  });
});
