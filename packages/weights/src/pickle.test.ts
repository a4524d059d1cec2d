// The data-only pickle machine: Python's own pickles of every protocol read as data, and hostile
// pickles refused with one-line DataErrors before anything happens.
import { describe, it, expect } from 'vitest';
import { DataError } from '@dino-ts/core';
import { PickleTuple, unpickle, unpickleAt, type PickleDict, type PickleValue } from './index';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: Array<Uint8Array | number[]>) => Uint8Array.from(parts.flatMap((p) => [...p]));

/**
 * pickle.dumps(obj, protocol=p) of Python 3.11 for
 *   obj = {'a': [1, -2, 300, 70000, 2**40, -2**70, 1.5, None, True, False],
 *          'b': ('x', 'ünï\\', ()), 'c': {1: 'one', (1, 2): 'pair'}, 'd': OrderedDict(z=1)}
 * plus 'e': b'by' from protocol 3 and 'f': {3, 4}, 'g': frozenset({5}) from protocol 4.
 */
const PYTHON_PICKLES: Record<number, string> = {
  0: '286470300a56610a70310a286c70320a49310a61492d320a61493330300a614937303030300a614c313039393531313632373737364c0a614c2d313138303539313632303731373431313330333432344c0a6146312e350a614e614930310a614930300a617356620a70330a2856780a70340a56fc6eef5c75303035630a70350a28747470360a7356630a70370a286470380a49310a566f6e650a70390a732849310a49320a747031300a56706169720a7031310a737356640a7031320a63636f6c6c656374696f6e730a4f726465726564446963740a7031330a2874527031340a567a0a7031350a49310a73732e',
  1: '7d71002858010000006171015d7102284b014afeffffff4d2c014a701101004c313039393531313632373737364c0a4c2d313138303539313632303731373431313330333432344c0a473ff80000000000004e4930310a4930300a6558010000006271032858010000007871045806000000c3bc6ec3af5c71052974710658010000006371077d7108284b0158030000006f6e657109284b014b0274710a580400000070616972710b75580100000064710c63636f6c6c656374696f6e730a4f726465726564446963740a710d2952710e58010000007a710f4b0173752e',
  2: '80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000018a090000000000000000c0473ff80000000000004e888965580100000062710358010000007871045806000000c3bc6ec3af5c71052987710658010000006371077d7108284b0158030000006f6e6571094b014b0286710a580400000070616972710b75580100000064710c63636f6c6c656374696f6e730a4f726465726564446963740a710d2952710e58010000007a710f4b0173752e',
  3: '80037d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000018a090000000000000000c0473ff80000000000004e888965580100000062710358010000007871045806000000c3bc6ec3af5c71052987710658010000006371077d7108284b0158030000006f6e6571094b014b0286710a580400000070616972710b75580100000064710c63636f6c6c656374696f6e730a4f726465726564446963740a710d2952710e58010000007a710f4b01735801000000657110430262797111752e',
  4: '800495b6000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000018a090000000000000000c0473ff80000000000004e8889658c0162948c0178948c06c3bc6ec3af5c942987948c0163947d94284b018c036f6e65944b014b0286948c047061697294758c0164948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c017a944b01738c01659443026279948c0166948f94284b034b04908c016794284b059194752e',
  5: '800595b6000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000018a090000000000000000c0473ff80000000000004e8889658c0162948c0178948c06c3bc6ec3af5c942987948c0163947d94284b018c036f6e65944b014b0286948c047061697294758c0164948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c017a944b01738c01659443026279948c0166948f94284b034b04908c016794284b059194752e',
};

/** The error `fn` throws (failing the test when it throws none). */
function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** A DataError whose message is one line matching `pattern`. */
function expectDataError(fn: () => unknown, pattern: RegExp): void {
  const e = errorOf(fn);
  expect(e).toBeInstanceOf(DataError);
  expect(e.message).toMatch(pattern);
  expect(e.message).not.toContain('\n');
}

describe('unpickle: Python data of every protocol', () => {
  for (const [protocol, text] of Object.entries(PYTHON_PICKLES)) {
    it(`protocol ${protocol}`, () => {
      const v = unpickle(hex(text)) as PickleDict;
      expect(v).toBeInstanceOf(Map);
      expect(v.get('a')).toEqual([1, -2, 300, 70000, 2 ** 40, -(2n ** 70n), 1.5, null, true, false]);
      const b = v.get('b') as PickleTuple;
      expect(b).toBeInstanceOf(PickleTuple);
      expect(b.items[0]).toBe('x');
      expect(b.items[1]).toBe('ünï\\');
      expect(b.items[2]).toEqual(new PickleTuple([]));
      const c = v.get('c') as PickleDict;
      expect(c.get(1)).toBe('one');
      const pairKey = [...c.keys()][1] as PickleTuple;
      expect(pairKey.items).toEqual([1, 2]);
      expect(c.get(pairKey)).toBe('pair');
      expect(v.get('d')).toEqual(new Map([['z', 1]]));
      if (Number(protocol) >= 3) expect(v.get('e')).toEqual(Uint8Array.from([0x62, 0x79]));
      if (Number(protocol) >= 4) {
        expect(v.get('f')).toEqual(new Set([3, 4]));
        expect(v.get('g')).toEqual(new Set([5]));
      }
    });
  }

  it('reports where the pickle ends (legacy torch files hold several in a row)', () => {
    const one = hex(PYTHON_PICKLES[2]);
    const two = cat(one, one);
    const first = unpickleAt(two);
    expect(first.end).toBe(one.length);
    expect(unpickleAt(two, { offset: first.end }).end).toBe(two.length);
  });

  it('an argparse.Namespace is attribute data, and its names cannot reach Object.prototype', () => {
    // pickle.dumps(argparse.Namespace(arch='vit_small', lr=0.0005), protocol=2) with an extra
    // attribute named "__proto__".
    const p = cat(
      ascii('\x80\x02cargparse\nNamespace\n)\x81}('),
      ascii('X\x04\x00\x00\x00archX\x09\x00\x00\x00vit_small'),
      ascii('X\x02\x00\x00\x00lrG'),
      [0x3f, 0x40, 0x62, 0x4d, 0xd2, 0xf1, 0xa9, 0xfc],
      ascii('X\x09\x00\x00\x00__proto__}X\x08\x00\x00\x00polluted\x88su'),
      ascii('b.'),
    );
    const ns = unpickle(p) as Record<string, PickleValue>;
    expect(ns.arch).toBe('vit_small');
    expect(ns.lr).toBe(0.0005);
    expect(Object.prototype.hasOwnProperty.call(ns, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('unpickle: NumPy scalars (main_dino.py stores lr and weight_decay as numpy.float64)', () => {
  /**
   * pickle.dumps(o, protocol=p) for o = {'lr': np.float64(0.0005), 'wd': np.float32(0.25),
   * 'n': np.int64(-3), 'b': np.bool_(True), 'be': np.array([2.5], dtype='>f8')[0],
   * 'u': np.uint8(200), 'h': np.float16(1.5), 'raw': b'\x00\xffab'} (NumPy 1.24).
   */
  const NUMPY: Record<number, string> = {
    2: '80027d71002858020000006c727101636e756d70792e636f72652e6d756c746961727261790a7363616c61720a7102636e756d70790a64747970650a71035802000000663871048988877105527106284b0358010000003c71074e4e4e4affffffff4affffffff4b0074710862635f636f646563730a656e636f64650a7109580c000000c3bcc2a9c3b1c3924d62403f710a58060000006c6174696e31710b86710c52710d86710e52710f580200000077647110680268035802000000663471118988877112527113284b0368074e4e4e4affffffff4affffffff4b0074711462680958050000000000c2803e7115680b86711652711786711852711958010000006e711a6802680358020000006938711b898887711c52711d284b0368074e4e4e4affffffff4affffffff4b0074711e6268095810000000c3bdc3bfc3bfc3bfc3bfc3bfc3bfc3bf711f680b8671205271218671225271235801000000627124680268035802000000623171258988877126527127284b0358010000007c71284e4e4e4affffffff4affffffff4b00747129626809580100000001712a680b86712b52712c86712d52712e58020000006265712f680268066809580800000000000000000004407130680b8671315271328671335271345801000000757135680268035802000000753171368988877137527138284b0368284e4e4e4affffffff4affffffff4b007471396268095802000000c388713a680b86713b52713c86713d52713e580100000068713f680268035802000000663271408988877141527142284b0368074e4e4e4affffffff4affffffff4b007471436268095802000000003e7144680b867145527146867147527148580300000072617771496809580500000000c3bf6162714a680b86714b52714c752e',
    4: '8004959f010000000000007d94288c026c72948c156e756d70792e636f72652e6d756c74696172726179948c067363616c61729493948c056e756d7079948c0564747970659493948c02663894898887945294284b038c013c944e4e4e4affffffff4affffffff4b007494624308fca9f1d24d62403f94869452948c02776494680468078c02663494898887945294284b03680b4e4e4e4affffffff4affffffff4b0074946243040000803e94869452948c016e94680468078c02693894898887945294284b03680b4e4e4e4affffffff4affffffff4b007494624308fdffffffffffffff94869452948c016294680468078c02623194898887945294284b038c017c944e4e4e4affffffff4affffffff4b0074946243010194869452948c026265946804680a4308000000000000044094869452948c017594680468078c02753194898887945294284b0368244e4e4e4affffffff4affffffff4b007494624301c894869452948c016894680468078c02663294898887945294284b03680b4e4e4e4affffffff4affffffff4b007494624302003e94869452948c0372617794430400ff616294752e',
  };
  for (const [protocol, text] of Object.entries(NUMPY)) {
    it(`protocol ${protocol}: scalars become numbers, bytes stay bytes`, () => {
      const v = unpickle(hex(text)) as PickleDict;
      expect(v.get('lr')).toBe(0.0005);
      expect(v.get('wd')).toBe(0.25);
      expect(v.get('n')).toBe(-3);
      expect(v.get('b')).toBe(true);
      expect(v.get('be')).toBe(2.5);
      expect(v.get('u')).toBe(200);
      expect(v.get('h')).toBe(1.5);
      expect(v.get('raw')).toEqual(Uint8Array.from([0, 255, 0x61, 0x62]));
    });
  }

  it('a NumPy dtype that is not a plain number type is refused', () => {
    expectDataError(() => unpickle(ascii('\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R.')), /NumPy dtype O8, which is not a plain number type: refused/);
  });
});

describe('unpickle: hostile and broken pickles', () => {
  it('GLOBAL os.system is refused, naming it, before anything runs', () => {
    // The classic: cos\nsystem\n(S'echo pwned'\ntR.
    const p = ascii("cos\nsystem\n(S'echo pwned'\ntR.");
    expectDataError(() => unpickle(p, { source: 'model.pth' }), /^model\.pth: the pickle asks for os\.system, which is not a tensor or container: refused \(nothing is executed\)$/);
  });

  it('STACK_GLOBAL (protocol 4) names are checked the same way', () => {
    // \x80\x04 \x8c\x08builtins \x8c\x04eval \x93 ...
    const p = cat([0x80, 4, 0x8c, 8], ascii('builtins'), [0x8c, 4], ascii('eval'), [0x93], ascii('X\x01\x00\x00\x001\x85R.'));
    expectDataError(() => unpickle(p), /the pickle asks for builtins\.eval, which is not a tensor or container: refused/);
  });

  for (const name of ['torch.storage._load_from_bytes', 'numpy.core.multiarray._reconstruct', 'numpy.ndarray', 'builtins.getattr', 'subprocess.Popen', '__builtin__.set']) {
    it(`refuses ${name}`, () => {
      const dot = name.lastIndexOf('.');
      const p = ascii(`\x80\x02c${name.slice(0, dot)}\n${name.slice(dot + 1)}\n)R.`);
      expectDataError(() => unpickle(p), new RegExp(`asks for ${name.replace(/\./g, '\\.')},.*refused`));
    });
  }

  it('allowed names cannot be misused as calls', () => {
    expectDataError(() => unpickle(ascii('\x80\x02ctorch\nFloatStorage\n)R.')), /calls torch\.FloatStorage, which a state dict never does: refused/);
    expectDataError(() => unpickle(ascii('\x80\x02ctorch\nTensor\n)\x81.')), /instantiates torch\.Tensor.*refused/);
  });

  it('an unknown opcode is named with its byte', () => {
    expectDataError(() => unpickle(cat([0x80, 2, 0xff]), { source: 'x.pth' }), /^x\.pth: unknown pickle opcode 0xff at byte 2: not a PyTorch state dict or checkpoint, or a corrupt one$/);
    expectDataError(() => unpickle(ascii('\x80\x02z')), /unknown pickle opcode 0x7a 'z' at byte 2/);
  });

  it('INST / OBJ and the extension registry are refused by name', () => {
    expectDataError(() => unpickle(ascii('(ios\nsystem\nS"x"\n.')), /pickle opcode INST \(0x69\) at byte 1 builds objects by name: refused/);
    expectDataError(() => unpickle(cat([0x80, 2, 0x82, 1])), /pickle opcode EXT1/);
  });

  it('a persistent id without a storage loader is an error, not a lookup', () => {
    expectDataError(() => unpickle(ascii('\x80\x02X\x01\x00\x00\x000Q.')), /references external data \(a persistent id\).*readPth/);
  });

  it('truncated and malformed pickles are DataErrors, not RangeErrors', () => {
    const full = hex(PYTHON_PICKLES[2]);
    for (const cut of [1, 3, 10, 50, full.length - 1]) {
      expectDataError(() => unpickle(full.subarray(0, cut)), /truncated|corrupt pickle/);
    }
    expectDataError(() => unpickle(new Uint8Array(0)), /no pickle data/);
    expectDataError(() => unpickle(ascii('\x80\x02a.')), /corrupt pickle \(stack underflow/);
    expectDataError(() => unpickle(ascii('\x80\x02h\x05.')), /memo entry 5 was never stored/);
    expectDataError(() => unpickle(ascii('\x80\x02X\xff\xff\xff\x7f')), /truncated/);
    expectDataError(() => unpickle(ascii('\x80\x09.')), /protocol 9/);
  });
});
