import { describe, it, expect } from 'vitest';
import { encodeSafetensors, decodeSafetensors, type NamedArray } from './safetensors';
import { ConfigError, DataError, ShapeError } from './errors';

// ---------------------------------------------------------------------------------------------
// Helpers written independently of the code under test: files are assembled by hand, and half
// values come from the IEEE definition in plain arithmetic rather than from bit manipulation.
// ---------------------------------------------------------------------------------------------

/** A safetensors file from a header (object or exact text) and a data section. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), headerLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The header text and data section of an encoded file. */
function split(file: Uint8Array): { header: Record<string, any>; data: Uint8Array; headerLen: number } {
  const headerLen = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLen)));
  return { header, data: file.subarray(8 + headerLen), headerLen };
}

/** The value of binary16 bit pattern h, straight from the IEEE 754 definition. */
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32Bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
const bitsToF32 = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0];

/** Nearest binary16 pattern to x by search over all finite halves, ties to the even pattern. */
const POSITIVE_HALVES = Array.from({ length: 0x7c00 }, (_, h) => halfValue(h)); // 0 .. 65504, increasing
function nearestHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 is halfway between 65504 (odd pattern 0x7bff) and 2^16 (the first overflow), so it and
  // everything above becomes infinity.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0, hi = POSITIVE_HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (POSITIVE_HALVES[mid] <= a) lo = mid;
    else hi = mid;
  }
  if (a >= POSITIVE_HALVES[hi]) lo = hi;
  const dLo = a - POSITIVE_HALVES[lo];
  const dHi = lo + 1 < POSITIVE_HALVES.length ? POSITIVE_HALVES[lo + 1] - a : Infinity;
  const pick = dLo < dHi ? lo : dHi < dLo ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  return sign | pick;
}

/** The F16 bit patterns written for `values`, read back from the file's raw bytes. */
function writtenHalves(values: Float32Array): Uint16Array {
  const file = encodeSafetensors({ x: { dtype: 'F32', shape: [values.length], data: values } }, undefined, { floatDtype: 'F16' });
  const { header, data } = split(file);
  expect(header.x.dtype).toBe('F16');
  expect(header.x.data_offsets).toEqual([0, values.length * 2]);
  return new Uint16Array(data.slice().buffer);
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** Asserts decode throws a DataError naming the source and matching every pattern. */
function expectDataError(file: Uint8Array, ...patterns: (string | RegExp)[]): DataError {
  let caught: unknown;
  try {
    decodeSafetensors(file, 'model.safetensors');
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DataError);
  const err = caught as DataError;
  expect(err.name).toBe('DataError');
  expect(err.file).toBe('model.safetensors');
  expect(err.message.startsWith('model.safetensors: ')).toBe(true);
  for (const p of patterns) {
    if (typeof p === 'string') expect(err.message).toContain(p);
    else expect(err.message).toMatch(p);
  }
  return err;
}

const f32 = (shape: number[], data: number[]): NamedArray => ({ dtype: 'F32', shape, data: new Float32Array(data) });

// ---------------------------------------------------------------------------------------------

describe('decodeSafetensors input views', () => {
  const tensors: Record<string, NamedArray> = {
    w: f32([2, 2], [1.5, -2, 3.25, 1e-3]),
    d: { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    l: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 7n]) },
    i: { dtype: 'I32', shape: [3], data: new Int32Array([-1, 0, 2 ** 31 - 1]) },
    s: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 123]) },
    b: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    u: { dtype: 'U8', shape: [2], data: new Uint8Array([0, 255]) },
    m: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
  };
  const file = encodeSafetensors(tensors, { k: 'v' });

  /** The file placed at an odd offset inside a larger buffer filled with junk. */
  function embedded(offset: number): ArrayBuffer {
    const pool = new ArrayBuffer(offset + file.length + 13);
    new Uint8Array(pool).fill(0xab);
    new Uint8Array(pool, offset, file.length).set(file);
    return pool;
  }

  function expectDecoded(d: ReturnType<typeof decodeSafetensors>) {
    expect(d.metadata).toEqual({ k: 'v' });
    expect(Object.keys(d.tensors)).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      expect(d.tensors[name].dtype).toBe(t.dtype);
      expect(d.tensors[name].shape).toEqual(t.shape);
      expect(d.tensors[name].data.constructor).toBe(t.data.constructor);
      expect([...d.tensors[name].data]).toEqual([...t.data]);
    }
  }

  it('reads a Uint8Array view at an odd byteOffset inside a larger buffer', () => {
    const pool = embedded(3);
    expectDecoded(decodeSafetensors(new Uint8Array(pool, 3, file.length)));
  });

  it('reads a Node Buffer view into a shared pool (whose slice() does not copy)', () => {
    const pool = embedded(5);
    const buf = Buffer.from(pool, 5, file.length);
    expect(buf.byteOffset).toBe(5);
    expectDecoded(decodeSafetensors(buf));
  });

  it('reads an ArrayBuffer', () => {
    expectDecoded(decodeSafetensors(file.slice().buffer));
  });

  it('returns arrays that own their bytes, not views of the input', () => {
    const pool = embedded(7);
    const d = decodeSafetensors(Buffer.from(pool, 7, file.length));
    new Uint8Array(pool).fill(0);
    expect([...d.tensors.w.data]).toEqual([...tensors.w.data]);
    expect(d.tensors.w.data.byteOffset).toBe(0);
    expect(d.tensors.w.data.buffer.byteLength).toBe(16);
  });
});

describe('safetensors F16 / BF16 reading', () => {
  it('widens every one of the 65536 F16 patterns exactly (subnormals, inf, NaN, signed zero)', () => {
    const patterns = new Uint16Array(65536).map((_, i) => i);
    const file = rawFile({ h: { dtype: 'F16', shape: [256, 256], data_offsets: [0, 131072] } }, new Uint8Array(patterns.buffer));
    const t = decodeSafetensors(file).tensors.h;
    expect(t.dtype).toBe('F32');
    expect(t.sourceDtype).toBe('F16');
    expect(t.shape).toEqual([256, 256]);
    expect(t.data).toBeInstanceOf(Float32Array);
    const out = t.data as Float32Array;
    const bits = new Uint32Array(out.buffer);
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h);
      if (Number.isNaN(want)) {
        // Still NaN, with the sign and the payload carried into the top mantissa bits.
        expect(Number.isNaN(out[h]), `pattern ${h}`).toBe(true);
        expect(bits[h] >>> 0, `pattern ${h}`).toBe((((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0);
      } else if (!Object.is(out[h], want)) {
        expect.fail(`F16 pattern 0x${h.toString(16)}: got ${out[h]}, want ${want}`);
      }
    }
    // Spot values, stated literally.
    expect(out[0x3c00]).toBe(1);
    expect(out[0x7bff]).toBe(65504);
    expect(out[0x0001]).toBe(2 ** -24);
    expect(out[0x03ff]).toBe(1023 * 2 ** -24);
    expect(Object.is(out[0x8000], -0)).toBe(true);
    expect(out[0xfc00]).toBe(-Infinity);
  });

  it('widens BF16 as the top 16 bits of a float32', () => {
    const patterns = [0x3f80, 0xc000, 0x8000, 0x0000, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x4049, 0x7f7f];
    const data = new Uint8Array(new Uint16Array(patterns).buffer);
    const t = decodeSafetensors(rawFile({ b: { dtype: 'BF16', shape: [10], data_offsets: [0, 20] } }, data)).tensors.b;
    expect(t.dtype).toBe('F32');
    expect(t.sourceDtype).toBe('BF16');
    const out = [...t.data] as number[];
    expect(out.slice(0, 2)).toEqual([1, -2]);
    expect(Object.is(out[2], -0)).toBe(true);
    expect(Object.is(out[3], 0)).toBe(true);
    expect(out.slice(4, 6)).toEqual([Infinity, -Infinity]);
    expect(Number.isNaN(out[6])).toBe(true);
    expect(out[7]).toBe(2 ** -133); // smallest bf16 subnormal
    expect(out[8]).toBe(3.140625);
    expect(out[9]).toBe(bitsToF32(0x7f7f0000)); // largest finite bf16
  });

  it('leaves sourceDtype unset for tensors read as stored', () => {
    const d = decodeSafetensors(encodeSafetensors({ a: f32([1], [1]) }));
    expect('sourceDtype' in d.tensors.a).toBe(false);
  });
});

describe('safetensors F16 writing', () => {
  it('rounds to nearest even, like a reference search over all halves (random float32 patterns)', () => {
    const next = xorshift(12345);
    const n = 200_000;
    const values = new Float32Array(n);
    const bits = new Uint32Array(values.buffer);
    for (let i = 0; i < n; i++) {
      // Half of the samples are concentrated on exponents around the half range so that
      // normals, subnormals and overflow all get dense coverage.
      const r = next();
      bits[i] = i % 2 ? r : (r & 0x807fffff) | ((((r >>> 23) % 48) + 96) << 23);
    }
    const got = writtenHalves(values);
    for (let i = 0; i < n; i++) {
      const x = values[i];
      if (Number.isNaN(x)) {
        expect((got[i] & 0x7c00) === 0x7c00 && (got[i] & 0x3ff) !== 0, `NaN ${bits[i].toString(16)}`).toBe(true);
        continue;
      }
      const want = nearestHalf(x);
      if (got[i] !== want) expect.fail(`${x} (0x${bits[i].toString(16)}): got 0x${got[i].toString(16)}, want 0x${want.toString(16)}`);
    }
  });

  it('handles ties, overflow, subnormals, zeros, inf and NaN at the edges', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // tie between 1 (even) and 1 + 2^-10: stays at 1
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: goes to the even one
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [65504, 0x7bff],
      [65519.99609375, 0x7bff], // the float32 just below the overflow tie
      [65520, 0x7c00], // the tie: rounds up to infinity
      [-65520, 0xfc00],
      [1e9, 0x7c00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -14 - 2 ** -25, 0x0400], // tie between 0x3ff and 0x400: rounds to the even normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: zero is even
      [-(2 ** -25), 0x8000],
      [2 ** -25 + 2 ** -40, 0x0001], // just above the tie
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: 2 is even
      [2 ** -26, 0x0000],
      [2 ** -149, 0x0000], // the smallest float32 subnormal
      [0, 0x0000],
      [-0, 0x8000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    const got = writtenHalves(new Float32Array(cases.map(([x]) => x)));
    cases.forEach(([x, want], i) => {
      expect(bitsToF32(f32Bits(x)), `case ${x} must be exact in float32`).toBe(x);
      expect(got[i], `value ${x}`).toBe(want);
    });
    const nan = writtenHalves(new Float32Array([NaN, -NaN]));
    for (const h of nan) expect(halfValue(h)).toBeNaN();
  });

  it('round-trips every F16 pattern bit-exactly through read then write, NaN payloads included', () => {
    const patterns = new Uint16Array(65536).map((_, i) => i);
    const read = decodeSafetensors(rawFile({ h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, new Uint8Array(patterns.buffer)));
    const again = encodeSafetensors(read.tensors, undefined, { floatDtype: (_, a) => (a.sourceDtype === 'F16' ? 'F16' : 'F32') });
    const out = new Uint16Array(split(again).data.slice().buffer);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) if (out[h] !== h) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('chooses per tensor with a function, called only for F32 tensors', () => {
    const calls: string[] = [];
    const file = encodeSafetensors(
      { 'blocks.0.norm.weight': f32([2], [0.1, 0.2]), 'blocks.0.fc.weight': f32([3], [1, 2, 3]), n: { dtype: 'I32', shape: [1], data: new Int32Array([9]) } },
      { note: 'x' },
      {
        floatDtype: (name) => {
          calls.push(name);
          return name.includes('norm') ? 'F32' : 'F16';
        },
      },
    );
    expect(calls).toEqual(['blocks.0.norm.weight', 'blocks.0.fc.weight']);
    const { header } = split(file);
    expect(header['blocks.0.norm.weight']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [0, 8] });
    expect(header['blocks.0.fc.weight']).toEqual({ dtype: 'F16', shape: [3], data_offsets: [8, 14] });
    expect(header.n).toEqual({ dtype: 'I32', shape: [1], data_offsets: [14, 18] });
    const d = decodeSafetensors(file);
    expect([...d.tensors['blocks.0.norm.weight'].data]).toEqual([...new Float32Array([0.1, 0.2])]);
    expect([...d.tensors['blocks.0.fc.weight'].data]).toEqual([1, 2, 3]);
    expect(d.tensors['blocks.0.fc.weight'].sourceDtype).toBe('F16');
    expect([...d.tensors.n.data]).toEqual([9]);
    expect(d.metadata).toEqual({ note: 'x' });
  });

  it('keeps F32 by default with the two-argument call', () => {
    const file = encodeSafetensors({ a: f32([2], [0.1, 70000]) }, { epoch: '1' });
    expect(split(file).header.a.dtype).toBe('F32');
    expect([...decodeSafetensors(file).tensors.a.data]).toEqual([...new Float32Array([0.1, 70000])]);
  });

  it('rejects a bad floatDtype, globally or from the function', () => {
    const t = { a: f32([1], [1]) };
    expect(() => encodeSafetensors(t, undefined, { floatDtype: 'F8' as never })).toThrow(ConfigError);
    expect(() => encodeSafetensors(t, undefined, { floatDtype: 'BF16' as never })).toThrow(/floatDtype = "BF16": must be "F32" or "F16"/);
    expect(() => encodeSafetensors(t, undefined, { floatDtype: () => 'f16' as never })).toThrow(/floatDtype\("a"\) = "f16"/);
  });
});

describe('encodeSafetensors checks and layout', () => {
  it('aligns the data section to 8 bytes even when names are not ASCII', () => {
    for (const name of ['é', 'ßé', 'ネコ', 'a']) {
      const file = encodeSafetensors({ [name]: f32([1], [2]) });
      const { headerLen, header } = split(file);
      expect((8 + headerLen) % 8, name).toBe(0);
      expect(Object.keys(header)).toEqual([name]);
      expect([...decodeSafetensors(file).tensors[name].data]).toEqual([2]);
    }
  });

  it('keeps a tensor named "__proto__" as a tensor', () => {
    const tensors = JSON.parse('{"__proto__": 0}') as Record<string, NamedArray>;
    Object.defineProperty(tensors, '__proto__', { value: f32([1], [4]), enumerable: true });
    const d = decodeSafetensors(encodeSafetensors(tensors));
    expect(Object.keys(d.tensors)).toEqual(['__proto__']);
    expect([...Object.getOwnPropertyDescriptor(d.tensors, '__proto__')!.value.data]).toEqual([4]);
  });

  it('rejects data that does not match the dtype, shape or naming rules', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Int32Array(2) } })).toThrow(ShapeError);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Int32Array(2) } })).toThrow(/"a" is F32 but its data is a Int32Array; F32 needs a Float32Array/);
    expect(() => encodeSafetensors({ a: { dtype: 'I32', shape: [1, 2], data: new Int32Array(3) } })).toThrow(/"a" has 3 values but shape \[1,2\] needs 2/);
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } })).toThrow(/"a" has shape \[-1\]/);
    expect(() => encodeSafetensors({ a: { dtype: 'F16' as never, shape: [1], data: new Float32Array(1) } })).toThrow(/"a" has dtype F16; expected one of/);
    expect(() => encodeSafetensors({ __metadata__: f32([1], [1]) })).toThrow(ConfigError);
    expect(() => encodeSafetensors({}, { epoch: 3 as never })).toThrow(/metadata\["epoch"\] = 3: must be a string/);
  });
});

describe('decodeSafetensors header validation', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const eight = new Uint8Array(8);

  it('accepts a pretty-printed header with tricky strings, gaps and empty tensors', () => {
    const header = `{
      "__metadata__": { "note": "}{\\" ,] [ \\\\", "n": "2" },
      "a": { "dtype": "F32", "shape": [1], "data_offsets": [0, 4] },
      "e1": { "dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4] },
      "e2": { "dtype": "I64", "shape": [0], "data_offsets": [4, 4] },
      "b": { "dtype": "U8", "shape": [2], "data_offsets": [8, 10] }
    }`;
    const data = new Uint8Array(10);
    new Float32Array(data.buffer, 0, 1)[0] = 0.5;
    data.set([3, 4], 8);
    const d = decodeSafetensors(rawFile(header, data));
    expect(d.metadata).toEqual({ note: '}{" ,] [ \\', n: '2' });
    expect(Object.keys(d.tensors)).toEqual(['a', 'e1', 'e2', 'b']);
    expect([...d.tensors.a.data]).toEqual([0.5]);
    expect(d.tensors.e1.shape).toEqual([0, 3]);
    expect(d.tensors.e1.data.length).toBe(0);
    expect([...d.tensors.b.data]).toEqual([3, 4]);
  });

  it('rejects a file too short for the length field', () => {
    expectDataError(new Uint8Array(5), 'too short to be a safetensors file (5 bytes)');
  });

  it('rejects a header length that does not fit', () => {
    expectDataError(rawFile({ a: ok }, eight, 2n ** 60n), 'header length 1152921504606846976 does not fit in');
    expectDataError(rawFile({ a: ok }, eight, 1000n), 'header length 1000 does not fit in', 'truncated or not safetensors');
    expectDataError(rawFile({ a: ok }, eight, 0n), 'header length 0 does not fit');
  });

  it('rejects a header that is not UTF-8, not JSON or not an object', () => {
    const bad = rawFile('{"a":1}');
    bad[10] = 0xff;
    expectDataError(bad, 'header is not valid UTF-8');
    expectDataError(rawFile('{"a": '), 'header is not valid JSON');
    expectDataError(rawFile('[1, 2]'), 'header must be a JSON object of tensors, got an array');
    expectDataError(rawFile('null'), 'got null');
    expectDataError(rawFile('42'), 'got number 42');
  });

  it('rejects an entry that is null or not an object', () => {
    expectDataError(rawFile({ a: ok, 'blocks.1.mlp': null }, eight), 'tensor "blocks.1.mlp" has header entry null; expected {"dtype", "shape", "data_offsets"}');
    expectDataError(rawFile({ x: [1, 2] }), 'tensor "x" has header entry [1,2]');
    expectDataError(rawFile({ x: 'F32' }), 'tensor "x" has header entry "F32"');
  });

  it('rejects an unknown or missing dtype', () => {
    expectDataError(rawFile({ q: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, eight), 'tensor "q" has unsupported dtype "F8_E4M3" (supported: ', 'BF16');
    expectDataError(rawFile({ q: { shape: [1], data_offsets: [0, 4] } }, eight), 'tensor "q" has unsupported dtype undefined');
    expectDataError(rawFile({ q: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, eight), 'unsupported dtype "toString"');
  });

  it('rejects a shape that is not an array of non-negative integers', () => {
    for (const shape of ['2', [2, -1], [1.5], [2, '3'], null, [2 ** 53]]) {
      expectDataError(rawFile({ s: { dtype: 'F32', shape, data_offsets: [0, 8] } }, eight), `tensor "s" has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
    }
  });

  it('rejects data_offsets that are not an ordered pair of non-negative integers', () => {
    for (const offsets of [[0], [0, 8, 8], [-4, 4], [8, 4], [0, 4.5], '0,8', null, [0, '8']]) {
      expectDataError(
        rawFile({ o: { dtype: 'F32', shape: [2], data_offsets: offsets } }, eight),
        `tensor "o" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with integers 0 <= begin <= end`,
      );
    }
  });

  it('rejects a byte length that does not match the shape and dtype', () => {
    const name = 'blocks.0.attn.qkv.weight';
    const err = expectDataError(rawFile({ [name]: { dtype: 'F32', shape: [5, 6], data_offsets: [0, 100] } }, new Uint8Array(120)));
    expect(err.message).toBe(`model.safetensors: tensor "${name}" has data_offsets [0, 100] but F32 [5, 6] needs 120 bytes`);
    expectDataError(rawFile({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }, eight), 'tensor "h" has data_offsets [0, 8] but F16 [3] needs 6 bytes');
    expectDataError(rawFile({ h: { dtype: 'BOOL', shape: [], data_offsets: [0, 0] } }, eight), 'tensor "h" has data_offsets [0, 0] but BOOL [] needs 1 bytes');
  });

  it('rejects offsets past the end of the data section', () => {
    expectDataError(rawFile({ a: ok, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, new Uint8Array(12)), 'tensor "b" has data_offsets [8, 16] past the end of the data section (12 bytes)', 'truncated');
  });

  it('rejects overlapping tensors, naming both', () => {
    const header = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } };
    expectDataError(rawFile(header, new Uint8Array(16)), 'tensors "a" (data_offsets [0, 16]) and "b" (data_offsets [8, 16]) overlap');
    // One tensor inside another, listed out of order in the header.
    const nested = { late: { dtype: 'U8', shape: [2], data_offsets: [6, 8] }, small: { dtype: 'U8', shape: [2], data_offsets: [2, 4] }, big: { dtype: 'U8', shape: [10], data_offsets: [0, 10] } };
    expectDataError(rawFile(nested, new Uint8Array(10)), 'tensors "big" (data_offsets [0, 10]) and "small" (data_offsets [2, 4]) overlap');
    const sideBySide = { x: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, y: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } };
    expectDataError(rawFile(sideBySide, new Uint8Array(6)), '"x"', '"y"', 'overlap');
  });

  it('rejects duplicate tensor names that JSON.parse would silently merge', () => {
    const entry = '{"dtype":"F32","shape":[2],"data_offsets":[0,8]}';
    expectDataError(rawFile(`{"w":${entry},"v":{"dtype":"U8","shape":[0],"data_offsets":[8,8]},"w":${entry}}`, eight), 'header lists tensor "w" twice');
    // The same key spelled with an escape is still the same key.
    expectDataError(rawFile(`{"w": ${entry}, "\\u0077": ${entry}}`, eight), 'header lists tensor "w" twice');
    expectDataError(rawFile(`{"__metadata__":{"a":"1"},"w":${entry},"__metadata__":{"a":"2"}}`, eight), 'header has __metadata__ twice');
  });

  it('rejects __metadata__ that is not an object of strings', () => {
    expectDataError(rawFile({ __metadata__: 'v1', a: ok }, eight), '__metadata__ must be an object of strings, got string "v1"');
    expectDataError(rawFile({ __metadata__: ['a'], a: ok }, eight), '__metadata__ must be an object of strings, got an array');
    expectDataError(rawFile({ __metadata__: null, a: ok }, eight), 'got null');
    expectDataError(rawFile({ __metadata__: { epoch: 3, name: 'x' }, a: ok }, eight), '__metadata__ must be an object of strings, but "epoch" is number 3');
    expectDataError(rawFile({ __metadata__: { cfg: { lr: '1' } }, a: ok }, eight), '"cfg" is an object');
  });
});
