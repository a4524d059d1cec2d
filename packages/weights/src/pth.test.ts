// torch.save files: the zip container's checks, the writer (read back here; PyTorch reads it in
// torch.test.ts), storage views and byte order, and the legacy format's failure modes.
import { describe, it, expect } from 'vitest';
import { describeBackends } from '@dino-ts/core/testing';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { ConfigError, DataError, type NamedArray } from '@dino-ts/core';
import {
  PickleTuple,
  PyFloat,
  ZipReader,
  crc32,
  loadVisionTransformer,
  nestByPrefix,
  readPth,
  readWeights,
  stateDict,
  writePth,
  type PickleDict,
  type PickleValue,
} from './index';
import { writeZip } from './zip';

const fixture = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const f32 = (shape: number[], values?: number[]): NamedArray => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: Float32Array.from(values ?? Array.from({ length: n }, (_, i) => i * 0.5 - 1)) };
};

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

function expectError(fn: () => unknown, cls: typeof DataError | typeof ConfigError, pattern: RegExp): void {
  const e = errorOf(fn);
  expect(e).toBeInstanceOf(cls);
  expect(e.message).toMatch(pattern);
  expect(e.message).not.toContain('\n');
}

/** A torch-layout zip holding `pickle` as data.pkl and the given storages. */
function pthZip(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return writeZip([['archive/data.pkl', pickle], ...Object.entries(storages).map(([k, v]): [string, Uint8Array] => [`archive/data/${k}`, v]), ...Object.entries(extra)]);
}

/** `_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, size, stride, False, OrderedDict())` */
function tensorOp(key: string, numel: number, offset: number, size: number[], stride: number[], storage = 'FloatStorage'): string {
  const tuple = (xs: number[]) => `(${xs.map((x) => `K${String.fromCharCode(x)}`).join('')}t`;
  return (
    `ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n${storage}\n` +
    `X${String.fromCharCode(key.length)}\x00\x00\x00${key}X\x03\x00\x00\x00cpuK${String.fromCharCode(numel)}tQ` +
    `K${String.fromCharCode(offset)}${tuple(size)}${tuple(stride)}\x89ccollections\nOrderedDict\n)RtR`
  );
}

describe('zip container: damaged and hostile archives', () => {
  const good = fixture('vit.pth');

  it('a truncated archive is a one-line DataError', () => {
    for (const keep of [0.5, 0.9, 0.999]) {
      expectError(() => readPth(good.subarray(0, Math.floor(good.length * keep)), { source: 'vit.pth' }), DataError, /^vit\.pth: .*truncated/);
    }
    // Cut inside the data but with the directory intact (a file spliced together): offsets past the end.
    const zip = new ZipReader(good);
    const last = [...zip.entries.values()].sort((a, b) => b.dataOffset - a.dataOffset)[0];
    expect(last.dataOffset).toBeGreaterThan(0);
  });

  it('a flipped bit fails the CRC-32 check, naming the entry', () => {
    const bad = good.slice();
    const entry = new ZipReader(good).entries.get('vit/data/0')!;
    bad[entry.dataOffset + 5] ^= 0x10;
    expectError(() => readPth(bad, { source: 'vit.pth' }), DataError, /^vit\.pth: entry "vit\/data\/0" fails its CRC-32 check/);
  });

  it('a zip bomb (a deflated entry declaring far more than it holds) is refused before inflating', () => {
    const small = zipSync({ 'archive/data.pkl': [ascii('\x80\x02}.'), { level: 9 }] });
    const bomb = small.slice();
    const view = new DataView(bomb.buffer);
    // Central directory entry: uncompressed size at +24.
    const cd = findSignature(bomb, 0x02014b50);
    view.setUint32(cd + 24, 0xfffffff0, true);
    expectError(() => readPth(bomb, { source: 'bomb.pth' }), DataError, /^bomb\.pth: entry "archive\/data\.pkl" declares 4\.0 GiB from \d+ bytes compressed \(ratio above 1000\): a zip bomb, refused$/);
  });

  it('archives declaring more than the total cap are refused', () => {
    expectError(() => readPth(good, { maxTotalBytes: 1000, source: 'vit.pth' }), DataError, /declare more than 1000 bytes uncompressed.*refused/);
  });

  it('unknown compression methods and encryption are named', () => {
    const z = writeZip([['archive/data.pkl', ascii('\x80\x02}.')]]);
    const cd = findSignature(z, 0x02014b50);
    const m = z.slice();
    new DataView(m.buffer).setUint16(cd + 10, 12, true); // bzip2
    expectError(() => readPth(m), DataError, /compression method 12/);
    const enc = z.slice();
    new DataView(enc.buffer).setUint16(cd + 8, 1, true);
    expectError(() => readPth(enc), DataError, /encrypted/);
  });

  it('deflated entries are read (and checked) too', () => {
    const files = new ZipReader(good).entries;
    const inflated: Record<string, [Uint8Array, { level: 6 }]> = {};
    const zip = new ZipReader(good);
    for (const name of files.keys()) inflated[name] = [zip.read(name), { level: 6 }];
    const deflated = zipSync(inflated);
    expect(readWeights(deflated).backbone).toEqual(readWeights(good).backbone);
  });

  it('a pickle in the archive asking for os.system is refused', () => {
    const p = pthZip(ascii("\x80\x02cos\nsystem\nX\x02\x00\x00\x00idtR."));
    expectError(() => readPth(p, { source: 'model.pth' }), DataError, /^model\.pth: the pickle asks for os\.system, which is not a tensor or container: refused \(nothing is executed\)$/);
    expectError(() => readWeights(p, { source: 'model.pth' }), DataError, /os\.system/);
  });

  it('names what else it is: TorchScript, tar, empty, random bytes', () => {
    const ts = writeZip([['model/constants.pkl', ascii('\x80\x02).')], ['model/code/x.py', ascii('')]]);
    expectError(() => readPth(ts), DataError, /TorchScript archive/);
    const tar = new Uint8Array(1024);
    tar.set(ascii('ustar'), 257);
    expectError(() => readWeights(tar), DataError, /tar-format torch file.*re-save/);
    expectError(() => readWeights(new Uint8Array(0)), DataError, /not a \.pth/);
    expectError(() => readWeights(ascii('hello world, not weights')), DataError, /not a \.pth/);
  });

  it('CRC-32 matches the standard check value', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });
});

describe('storages: views, offsets, byte order, bounds', () => {
  const storage = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);

  it('a transposed view and an offset slice are copied out element by element', () => {
    const pickle = ascii(`\x80\x02}(X\x01\x00\x00\x00t${tensorOp('0', 6, 0, [3, 2], [1, 3])}X\x01\x00\x00\x00s${tensorOp('0', 6, 2, [2], [2])}u.`);
    const v = readPth(pthZip(pickle, { '0': storage })).value as PickleDict;
    const t = v.get('t') as NamedArray;
    expect(t.shape).toEqual([3, 2]);
    expect([...t.data]).toEqual([0, 3, 1, 4, 2, 5]);
    expect([...(v.get('s') as NamedArray).data]).toEqual([2, 4]);
  });

  it('nn.Parameter (torch 1.x) and tensors with Python attributes (torch 2.x) are their tensor', () => {
    const param = `ctorch._utils\n_rebuild_parameter\n(${tensorOp('0', 6, 0, [6], [1])}\x89ccollections\nOrderedDict\n)RtR`;
    const fromType =
      `ctorch._tensor\n_rebuild_from_type_v2\n(ctorch._utils\n_rebuild_tensor_v2\nctorch\nTensor\n` +
      `((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x06tQK\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rt}tR`;
    const pickle = ascii(`\x80\x02}(X\x01\x00\x00\x00p${param}X\x01\x00\x00\x00q${fromType}u.`);
    const v = readPth(pthZip(pickle, { '0': storage })).value as PickleDict;
    expect([...(v.get('p') as NamedArray).data]).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...(v.get('q') as NamedArray).data]).toEqual([0, 1]);
  });

  it('byteorder "big" is honoured', () => {
    const big = new Uint8Array(24);
    const dv = new DataView(big.buffer);
    for (let i = 0; i < 6; i++) dv.setFloat32(i * 4, i + 0.5, false);
    const pickle = ascii(`\x80\x02${tensorOp('0', 6, 0, [6], [1])}.`);
    const v = readPth(pthZip(pickle, { '0': big }, { 'archive/byteorder': ascii('big') })).value as NamedArray;
    expect([...v.data]).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
  });

  it('a view reaching past its storage, or a missing storage, is a DataError', () => {
    const past = ascii(`\x80\x02${tensorOp('0', 6, 4, [3], [1])}.`);
    expectError(() => readPth(pthZip(past, { '0': storage })), DataError, /reaches past its storage "0" of 6 elements/);
    const missing = ascii(`\x80\x02${tensorOp('7', 6, 0, [6], [1])}.`);
    expectError(() => readPth(pthZip(missing, { '0': storage })), DataError, /storage "7" is referenced but the archive has no archive\/data\/7/);
    const short = ascii(`\x80\x02${tensorOp('0', 9, 0, [9], [1])}.`);
    expectError(() => readPth(pthZip(short, { '0': storage })), DataError, /holds 24 bytes but 9 FloatStorage elements need 36/);
  });
});

describe('legacy format', () => {
  const legacy = fixture('vit_legacy.pth');

  it('a truncated legacy file is a one-line DataError', () => {
    for (const keep of [0.01, 0.3, 0.9, 0.9999]) {
      expectError(() => readPth(legacy.subarray(0, Math.floor(legacy.length * keep)), { source: 'old.pth' }), DataError, /^old\.pth: .*(truncated|corrupt)/);
    }
  });
});

describe('writePth', () => {
  it('writes what readPth reads back: nested dicts, int keys, tuples, numbers, strings, every dtype', () => {
    const shared = f32([2, 2]);
    const value: PickleValue = {
      student: { 'module.backbone.cls_token': f32([1, 1, 4]), shared },
      teacher: { 'backbone.cls_token': f32([1, 1, 4]), alias: shared },
      optimizer: {
        state: new Map<number, PickleValue>([[0, { step: f32([], [3]), exp_avg: f32([1, 1, 4]) }]]),
        param_groups: [{ lr: 0.0005, betas: new PickleTuple([0.9, 0.999]), weight_decay: new PyFloat(0), params: [0, 1, 2], foreach: null, amsgrad: false }],
      },
      epoch: 7,
      big: 2n ** 70n,
      negative: [-1, -300, -70000, -(2 ** 40)],
      text: 'ünïcode ✓',
      dtypes: {
        f64: { dtype: 'F64', shape: [2], data: new Float64Array([1.25, -2]) },
        i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 2n ** 40n]) },
        i32: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) },
        i16: { dtype: 'I16', shape: [1], data: new Int16Array([-3]) },
        i8: { dtype: 'I8', shape: [1], data: new Int8Array([-2]) },
        u8: { dtype: 'U8', shape: [1], data: new Uint8Array([200]) },
        bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
        empty: f32([0, 3]),
      },
    };
    const bytes = writePth(value);
    const back = readPth(bytes).value as PickleDict;
    const student = back.get('student') as PickleDict;
    const teacher = back.get('teacher') as PickleDict;
    expect([...(student.get('module.backbone.cls_token') as NamedArray).data]).toEqual([-1, -0.5, 0, 0.5]);
    // One storage for a tensor that appears twice.
    const zip = new ZipReader(bytes);
    expect([...zip.entries.keys()].filter((n) => n.startsWith('archive/data/')).length).toBe(13);
    expect(teacher.get('alias')).toEqual(student.get('shared'));
    const optimizer = back.get('optimizer') as PickleDict;
    const state = optimizer.get('state') as PickleDict;
    expect([...state.keys()]).toEqual([0]);
    expect((state.get(0) as PickleDict).get('step')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([3]) });
    const group = (optimizer.get('param_groups') as PickleValue[])[0] as PickleDict;
    expect(group.get('lr')).toBe(0.0005);
    expect((group.get('betas') as PickleTuple).items).toEqual([0.9, 0.999]);
    expect(group.get('weight_decay')).toBe(0);
    expect(group.get('foreach')).toBeNull();
    expect(back.get('epoch')).toBe(7);
    expect(back.get('big')).toBe(2n ** 70n);
    expect(back.get('negative')).toEqual([-1, -300, -70000, -(2 ** 40)]);
    expect(back.get('text')).toBe('ünïcode ✓');
    const dtypes = back.get('dtypes') as PickleDict;
    for (const [k, a] of Object.entries((value as Record<string, Record<string, NamedArray>>).dtypes)) expect(dtypes.get(k)).toEqual(a);
  });

  it('stores F32 as F16 or BF16 when asked, per tensor if wanted', () => {
    const sd = { 'norm.weight': f32([3], [1, 1.0009765625, 3.14159]), 'blocks.0.w': f32([2], [0.1, 65504]) };
    const half = readPth(writePth(sd, { floatDtype: 'F16' })).value as PickleDict;
    expect((half.get('norm.weight') as NamedArray).sourceDtype).toBe('F16');
    expect([...(half.get('norm.weight') as NamedArray).data]).toEqual([1, 1.0009765625, 3.140625]);
    const bf = readPth(writePth(sd, { floatDtype: (name) => (name.includes('norm') ? 'F32' : 'BF16') })).value as PickleDict;
    expect((bf.get('norm.weight') as NamedArray).sourceDtype).toBeUndefined();
    expect((bf.get('blocks.0.w') as NamedArray).sourceDtype).toBe('BF16');
    // 0.1 -> bfloat16 0.10009765625 (round to nearest even), 65504 -> 65536
    expect([...(bf.get('blocks.0.w') as NamedArray).data]).toEqual([0.10009765625, 65536]);
  });

  it("aligns every entry's data to 64 bytes and writes the same bytes for the same input", () => {
    const file = readWeights(fixture('vit.pth'));
    const a = writePth(file.backbone);
    const b = writePth(file.backbone);
    expect(a).toEqual(b);
    for (const e of new ZipReader(a).entries.values()) {
      expect(e.method).toBe(0);
      expect(e.dataOffset % 64).toBe(0);
    }
    // ... and it reads back to the same weights.
    expect(readWeights(a).backbone).toEqual(file.backbone);
  });

  it('nestByPrefix and stateDict build checkpoint layouts from flat names', () => {
    const flat = { 'student.backbone.cls_token': f32([1]), 'teacher.head.mlp.0.weight': f32([1]), 'optimizer.x.exp_avg': f32([1]) };
    const nested = nestByPrefix(flat, ['student', 'teacher']);
    expect(Object.keys(nested)).toEqual(['student', 'teacher']);
    expect(Object.keys(nested.student)).toEqual(['backbone.cls_token']);
    expect(Object.keys(stateDict(nested.student, 'module.'))).toEqual(['module.backbone.cls_token']);
    const wrapped = readWeights(writePth({ student: stateDict(nested.student, 'module.') }), { key: 'student' });
    expect(wrapped.key).toBe('student');
  });

  it('refuses values torch.load(weights_only=True) could not read, naming where they are', () => {
    expectError(() => writePth({ a: { b: undefined as unknown as PickleValue } }), ConfigError, /^Invalid a\.b = "undefined": cannot be pickled/);
    expectError(() => writePth({ a: new Set([1]) }), ConfigError, /Invalid a = "a set"/);
    expectError(() => writePth({ a: new Uint8Array(2) }), ConfigError, /bytes/);
    const loop: PickleValue[] = [];
    loop.push(loop);
    expectError(() => writePth({ loop }), ConfigError, /contains itself/);
    expectError(() => writePth({ t: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), ConfigError, /needs 3 values/);
    expectError(() => writePth({}, { archiveName: '../evil' }), ConfigError, /archiveName/);
  });
});

describeBackends(
  'loading strictly',
  () => {
  const file = () => readWeights(fixture('vit.pth'), { source: 'vit.pth' });

  it('missing, unexpected and wrongly shaped tensors are listed in one DataError', () => {
    const f = file();
    delete f.backbone['blocks.1.mlp.fc2.bias'];
    delete f.backbone['norm.weight'];
    f.backbone['blocks.0.extra'] = f32([1]);
    f.backbone['pos_embed'] = f32([1, 5, 128]);
    const e = errorOf(() => loadVisionTransformer(f, { source: 'vit.pth' }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).not.toContain('\n');
    expect(e.message).toMatch(/^vit\.pth: the weights do not fit a ViT \(embedDim 128, depth 2, patch 8, image 32x32\): /);
    expect(e.message).toMatch(/missing blocks\.1\.mlp\.fc2\.bias, norm\.weight/);
    expect(e.message).toMatch(/unexpected blocks\.0\.extra/);
    expect(e.message).toMatch(/wrong shape or dtype pos_embed \[1,5,128\] \(model \[1,17,128\]\)/);
  });

  it('a non-float tensor where a parameter belongs is named', () => {
    const f = file();
    f.backbone['norm.bias'] = { dtype: 'I32', shape: [128], data: new Int32Array(128) };
    expectError(() => loadVisionTransformer(f, { source: 'vit.pth' }), DataError, /norm\.bias is I32 \(model float32\)/);
  });

  it('a missing block or a ResNet state dict is named when the architecture is read', () => {
    const f = file();
    for (const k of Object.keys(f.backbone)) if (k.startsWith('blocks.0.')) delete f.backbone[k];
    expectError(() => loadVisionTransformer(readWeights(writePth(f.backbone), { source: 'holes.pth' }), { source: 'holes.pth' }), DataError, /block 0 is missing/);
    const resnet = readWeights(writePth({ 'conv1.weight': f32([4, 3, 3, 3]), 'layer1.0.conv1.weight': f32([4, 4, 3, 3]) }), { source: 'rn.pth' });
    expect(resnet.archError).toMatch(/these look like ResNet weights/);
    expectError(() => loadVisionTransformer(resnet, { source: 'rn.pth' }), DataError, /^rn\.pth: not a reference ViT state dict: no "cls_token" \(these look like ResNet weights\)/);
  });

  it('numHeads that does not divide the width is a ConfigError', () => {
    expectError(() => loadVisionTransformer(fixture('vit.pth'), { numHeads: 3 }), ConfigError, /numHeads = 3: must divide embedDim \(128\)/);
  });
},
  ['cpu'],
);

function findSignature(b: Uint8Array, sig: number): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 4 <= b.length; i++) if (v.getUint32(i, true) === sig) return i;
  throw new Error('signature not found');
}
