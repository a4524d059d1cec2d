// The wire format against hand-worked bytes (the protobuf encoding guide's examples) and round trips.
import { it, expect, describe } from 'vitest';
import { ProtoWriter, readFields, fieldText } from './protobuf';

describe('protobuf writer and reader', () => {
  it('writes varints, negative int64, floats and strings as the wire format specifies', () => {
    expect([...new ProtoWriter().int(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    // -1 as int64: ten bytes, 0xff x 9 then 0x01.
    expect([...new ProtoWriter().int(3, -1).finish()]).toEqual([0x18, ...Array(9).fill(0xff), 0x01]);
    expect([...new ProtoWriter().float(2, 1).finish()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    expect([...new ProtoWriter().int(1, 2 ** 40).finish()]).toEqual([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  });

  it('reads back nested messages with large byte fields kept by reference', () => {
    const big = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const inner = new ProtoWriter().int(1, -5).bytes(9, big).string(8, 'w');
    const outer = new ProtoWriter().string(2, 'g').message(5, inner).int(7, 123456789012);
    const bytes = outer.finish();
    expect(bytes.length).toBe(outer.length);
    const [name, msg, n] = readFields(bytes);
    expect(fieldText(name)).toBe('g');
    expect(n.int).toBe(123456789012n);
    const fields = readFields(msg.bytes);
    expect(fields.map((f) => f.field)).toEqual([1, 9, 8]);
    expect(fields[0].int).toBe(-5n);
    expect([...fields[1].bytes]).toEqual([...big]);
    expect(fieldText(fields[2])).toBe('w');
  });

  it('refuses unsafe numbers and truncated input', () => {
    expect(() => new ProtoWriter().int(1, 2 ** 60)).toThrow(RangeError);
    expect(() => readFields(Uint8Array.of(0x12, 0x05, 0x41))).toThrow(/past the end/);
    expect(() => readFields(Uint8Array.of(0x08, 0x96))).toThrow(/truncated/);
  });
});
