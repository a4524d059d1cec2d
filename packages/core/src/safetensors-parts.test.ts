/**
 * The piecewise safetensors API (what a reader or writer of files larger than one buffer uses):
 * the parts join to exactly encodeSafetensors's bytes, and header, tensors and limits read as
 * decodeSafetensors reads them.
 */
import { describe, expect, it } from 'vitest';
import {
  SAFETENSORS_MAX_HEADER_BYTES,
  decodeSafetensors,
  decodeSafetensorsTensor,
  encodeSafetensors,
  encodeSafetensorsParts,
  parseSafetensorsHeader,
  safetensorsHeaderLength,
  type NamedArray,
} from './safetensors';
import { DataError } from './errors';

const tensors: Record<string, NamedArray> = {
  w: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  ids: { dtype: 'I64', shape: [2], data: BigInt64Array.from([1n, -2n]) },
  'näme': { dtype: 'U8', shape: [3], data: Uint8Array.from([7, 8, 9]) },
  half: { dtype: 'F32', shape: [2], data: Float32Array.from([0.5, -3]) },
};
const options = { floatDtype: (name: string) => (name === 'half' ? ('F16' as const) : ('F32' as const)) };

describe('safetensors in pieces', () => {
  it('the parts of encodeSafetensorsParts join to the bytes of encodeSafetensors', () => {
    const whole = encodeSafetensors(tensors, { a: 'b' }, options);
    const { header, parts, byteLength } = encodeSafetensorsParts(tensors, { a: 'b' }, options);
    expect(byteLength).toBe(whole.length);
    expect(Buffer.concat([header, ...parts]).equals(Buffer.from(whole))).toBe(true);
    // F32 tensors go out as views of their own memory, not copies.
    expect(parts[0].buffer).toBe(tensors.w.data.buffer);
  });

  it('header, then each tensor at its offset, reads as decodeSafetensors', () => {
    const file = encodeSafetensors(tensors, { a: 'b' }, options);
    const len = safetensorsHeaderLength(file.subarray(0, 8), file.length, 'f');
    const { entries, metadata, dataStart } = parseSafetensorsHeader(file.subarray(8, 8 + len), file.length, 'f');
    expect(metadata).toEqual({ a: 'b' });
    expect(dataStart).toBe(8 + len);
    const whole = decodeSafetensors(file).tensors;
    for (const e of entries) {
      const own = file.slice(dataStart + e.begin, dataStart + e.end);
      for (const t of [decodeSafetensorsTensor(e, file.subarray(dataStart + e.begin, dataStart + e.end)), decodeSafetensorsTensor(e, own, { adopt: true })]) {
        expect(t.shape).toEqual(whole[e.name].shape);
        expect(Array.from(t.data as ArrayLike<number>, String)).toEqual(Array.from(whole[e.name].data as ArrayLike<number>, String));
      }
    }
    // Adopted bytes are the array's memory; copied ones are not.
    const e = entries.find((x) => x.name === 'w')!;
    const own = file.slice(dataStart + e.begin, dataStart + e.end);
    expect(decodeSafetensorsTensor(e, own, { adopt: true }).data.buffer).toBe(own.buffer);
    expect(decodeSafetensorsTensor(e, own).data.buffer).not.toBe(own.buffer);
    expect(() => decodeSafetensorsTensor(e, own.subarray(1))).toThrow(/needs 24 bytes, got 23/);
  });

  it('refuses a header over the size limit, however long the file claims to be', () => {
    const first8 = new Uint8Array(8);
    new DataView(first8.buffer).setBigUint64(0, BigInt(SAFETENSORS_MAX_HEADER_BYTES + 1), true);
    expect(() => safetensorsHeaderLength(first8, 10 * SAFETENSORS_MAX_HEADER_BYTES, 'big')).toThrow(DataError);
    expect(() => safetensorsHeaderLength(first8, 10 * SAFETENSORS_MAX_HEADER_BYTES, 'big')).toThrow(/over the 100000000-byte limit/);
    expect(() => safetensorsHeaderLength(first8.subarray(0, 4), 4, 'short')).toThrow(/too short/);
  });
});
