/**
 * A pickle reader for PyTorch state dicts and checkpoints that executes nothing.
 *
 * Python's pickle is a small stack machine whose GLOBAL and REDUCE opcodes import and call
 * arbitrary functions; that is how a malicious `.pth` runs code in `torch.load`. This machine
 * builds data only: dicts, lists, tuples, numbers, strings, and tensors (from torch's rebuild
 * functions, which it interprets itself). Every global is looked up in an allow-list of names
 * that have a data meaning; any other name is refused with a DataError before anything happens,
 * and so is any opcode it does not know. Python is never involved.
 */
import { DataError, float16ToFloat32Array } from '@dino-ts/core';
import { PickleTuple, dictEntries, isNamedArray, isPlainObject, type PickleDict, type PickleKey, type PickleObject, type PickleValue } from './values';
import { STORAGE_TYPES, TensorBuilder, type Storage, type StorageTypeName } from './storage';

/** Options of `unpickle`. */
export interface UnpickleOptions {
  /** Names the data in error messages (a file name). Default 'pickle'. */
  source?: string;
  /** Byte offset of the pickle in `bytes` (legacy torch files hold several in a row). Default 0. */
  offset?: number;
  /**
   * Turns a persistent id (BINPERSID; torch's storage references) into a value. Without it a
   * persistent id is an error: tensors need their storages, which `readPth` supplies.
   */
  persistentLoad?: (pid: PickleValue) => unknown;
  /** @internal Receives the tensors that reference storages (`readPth` passes it). */
  tensors?: TensorBuilder;
}

/** What `unpickleAt` returns: the value and where the pickle ended (just past STOP). */
export interface UnpickleResult {
  value: PickleValue;
  end: number;
}

/**
 * Reads one pickle from `bytes` (protocols 0-5, the opcodes state dicts use) and returns its
 * value. Tensors need `readPth`; here a persistent id is an error unless `persistentLoad` is
 * given. Throws a DataError naming the source and the problem for a refused global, an unknown
 * opcode, or corrupt data.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): PickleValue {
  return unpickleAt(bytes, opts).value;
}

/** `unpickle`, also returning the offset just past the pickle's STOP opcode. */
export function unpickleAt(bytes: Uint8Array, opts: UnpickleOptions = {}): UnpickleResult {
  return new Machine(bytes, opts).run();
}

// ---- the allow-list --------------------------------------------------------------------------

/** A global the machine may name, and what it means as data. */
type Global =
  | { kind: 'ordered-dict' }
  | { kind: 'rebuild-tensor' }
  | { kind: 'rebuild-parameter' }
  | { kind: 'rebuild-from-type' }
  | { kind: 'storage'; type: StorageTypeName }
  | { kind: 'size' }
  | { kind: 'tensor-class' }
  | { kind: 'namespace' }
  | { kind: 'numpy-dtype' }
  | { kind: 'numpy-scalar' }
  | { kind: 'encode' };

/**
 * The torch names are those of PyTorch's own weights-only allow-list that state dicts use; the
 * others are data that reference training checkpoints hold (see each).
 */
const ALLOWED: Record<string, Global> = {
  'collections.OrderedDict': { kind: 'ordered-dict' },
  'torch._utils._rebuild_tensor_v2': { kind: 'rebuild-tensor' },
  'torch._utils._rebuild_tensor': { kind: 'rebuild-tensor' },
  'torch._utils._rebuild_parameter': { kind: 'rebuild-parameter' },
  'torch._utils._rebuild_parameter_with_state': { kind: 'rebuild-parameter' },
  // torch >= 2 pickles tensors that carry Python attributes (and some Parameters) through this
  // wrapper: (rebuild function, class, its arguments, state).
  'torch._tensor._rebuild_from_type_v2': { kind: 'rebuild-from-type' },
  'torch.Tensor': { kind: 'tensor-class' },
  'torch.nn.parameter.Parameter': { kind: 'tensor-class' },
  'torch.Size': { kind: 'size' },
  // The `args` of a reference training checkpoint (main_dino.py's save_dict). A Namespace is plain
  // attribute storage: reading it builds an object from the pickled attribute dict and calls
  // nothing, so it is data like a dict, and reading the whole checkpoint needs it.
  'argparse.Namespace': { kind: 'namespace' },
  // NumPy scalars: main_dino.py sets each optimizer group's lr and weight_decay from NumPy
  // schedules, so every reference training checkpoint holds numpy.float64 values, pickled as
  // scalar(dtype('f8') with its byte order, the 8 bytes). Read here as the number those bytes
  // are: a fixed set of numeric dtypes, decoded, nothing called.
  'numpy.dtype': { kind: 'numpy-dtype' },
  'numpy.core.multiarray.scalar': { kind: 'numpy-scalar' },
  'numpy._core.multiarray.scalar': { kind: 'numpy-scalar' },
  // Protocol 2 has no bytes opcode: Python 3 pickles bytes as _codecs.encode(text, 'latin1'),
  // which is a pure text-to-bytes conversion, done here for latin-1 and UTF-8 only.
  '_codecs.encode': { kind: 'encode' },
};
// torch.FloatStorage, torch.HalfStorage, ...: type tags inside storage references.
for (const name of Object.keys(STORAGE_TYPES) as StorageTypeName[]) ALLOWED[`torch.${name}`] = { kind: 'storage', type: name };

/** A numpy.dtype of a plain number type ('f8', 'i4', 'u1', 'b1', ...) and its byte order. */
class NumpyDtype {
  littleEndian = true;
  constructor(
    readonly kind: string,
    readonly size: number,
  ) {}
}

/** A global on the stack: what it names and means. */
class GlobalRef {
  constructor(
    readonly name: string,
    readonly meaning: Global,
  ) {}
}

const MARK = Symbol('mark');

// ---- opcodes -----------------------------------------------------------------------------------

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  FLOAT: 0x46, // F
  INT: 0x49, // I
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  LONG: 0x4c, // L
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  STRING: 0x53, // S
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  UNICODE: 0x56, // V
  BINUNICODE: 0x58, // X
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  DICT: 0x64, // d
  EMPTY_DICT: 0x7d, // }
  APPENDS: 0x65, // e
  GET: 0x67, // g
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  LIST: 0x6c, // l
  EMPTY_LIST: 0x5d, // ]
  PUT: 0x70, // p
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  EMPTY_TUPLE: 0x29, // )
  SETITEMS: 0x75, // u
  BINFLOAT: 0x47, // G
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
} as const;

/** Opcodes that exist but that a data file has no use for: named in the refusal. */
const REFUSED_OPCODES: Record<number, string> = {
  0x69: 'INST', // i: instantiate a class by name
  0x6f: 'OBJ', // o: call a class
  0x50: 'PERSID', // P: text persistent id
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

// ---- the machine -------------------------------------------------------------------------------

type Item = unknown;

class Machine {
  private pos: number;
  private stack: Item[] = [];
  private readonly memo = new Map<number, Item>();
  private readonly source: string;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.source = opts.source ?? 'pickle';
    this.pos = opts.offset ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(problem: string): never {
    throw new DataError(`${this.source}: ${problem}`, this.source);
  }

  private corrupt(problem: string): never {
    this.fail(`corrupt pickle (${problem} at byte ${this.pos})`);
  }

  run(): UnpickleResult {
    if (this.pos >= this.bytes.length) this.fail('no pickle data (the file is empty or truncated)');
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      switch (op) {
        case OP.PROTO: {
          const v = this.u8();
          if (v > 5) this.fail(`pickle protocol ${v} is newer than any Python writes (5); the file is not a pickle`);
          break;
        }
        case OP.FRAME:
          this.take(8); // a length hint for buffered readers; the data follows inline
          break;
        case OP.STOP:
          return { value: this.pop() as PickleValue, end: this.pos };
        case OP.MARK:
          this.stack.push(MARK);
          break;
        case OP.POP:
          this.pop();
          break;
        case OP.POP_MARK:
          this.popMark();
          break;
        case OP.DUP:
          this.push(this.top());
          break;

        // Numbers
        case OP.NONE:
          this.push(null);
          break;
        case OP.NEWTRUE:
          this.push(true);
          break;
        case OP.NEWFALSE:
          this.push(false);
          break;
        case OP.BININT:
          this.push(this.view.getInt32(this.take(4), true));
          break;
        case OP.BININT1:
          this.push(this.u8());
          break;
        case OP.BININT2:
          this.push(this.view.getUint16(this.take(2), true));
          break;
        case OP.LONG1:
          this.push(this.long(this.u8()));
          break;
        case OP.LONG4: {
          const n = this.view.getInt32(this.take(4), true);
          if (n < 0) this.corrupt('negative LONG4 length');
          this.push(this.long(n));
          break;
        }
        case OP.BINFLOAT:
          this.push(this.view.getFloat64(this.take(8), false)); // big-endian, as pickle defines it
          break;
        case OP.INT: {
          const text = this.line();
          // Protocol 0 writes booleans as I00 / I01.
          if (text === '00') this.push(false);
          else if (text === '01') this.push(true);
          else this.push(this.parseInt(text));
          break;
        }
        case OP.LONG:
          this.push(this.parseInt(this.line().replace(/L$/, '')));
          break;
        case OP.FLOAT: {
          const f = Number(this.line());
          if (Number.isNaN(f)) this.corrupt('bad FLOAT text');
          this.push(f);
          break;
        }

        // Strings and bytes
        case OP.BINUNICODE:
          this.push(this.text(this.view.getUint32(this.take(4), true)));
          break;
        case OP.SHORT_BINUNICODE:
          this.push(this.text(this.u8()));
          break;
        case OP.BINUNICODE8:
          this.push(this.text(this.u64()));
          break;
        case OP.UNICODE:
          // raw-unicode-escape: Latin-1 bytes, with \uXXXX / \UXXXXXXXX for everything else.
          this.push(
            this.line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u: string | undefined, U: string | undefined) => {
              const cp = parseInt((u ?? U) as string, 16);
              if (cp > 0x10ffff) this.corrupt('a \\U escape beyond Unicode');
              return String.fromCodePoint(cp);
            }),
          );
          break;
        case OP.BINSTRING: {
          // Python 2 str; torch.load decodes these as UTF-8 by default, so do the same.
          const n = this.view.getInt32(this.take(4), true);
          if (n < 0) this.corrupt('negative BINSTRING length');
          this.push(this.text(n, true));
          break;
        }
        case OP.SHORT_BINSTRING:
          this.push(this.text(this.u8(), true));
          break;
        case OP.STRING: {
          const raw = this.line().trim();
          const q = raw[0];
          if ((q !== "'" && q !== '"') || raw[raw.length - 1] !== q) this.corrupt('bad STRING quoting');
          this.push(raw.slice(1, -1));
          break;
        }
        case OP.BINBYTES:
          this.push(this.bytesOf(this.view.getUint32(this.take(4), true)));
          break;
        case OP.SHORT_BINBYTES:
          this.push(this.bytesOf(this.u8()));
          break;
        case OP.BINBYTES8:
        case OP.BYTEARRAY8:
          this.push(this.bytesOf(this.u64()));
          break;

        // Containers
        case OP.EMPTY_LIST:
          this.push([]);
          break;
        case OP.LIST:
          this.push(this.popMark());
          break;
        case OP.APPEND: {
          const v = this.pop();
          this.list(this.top(), 'APPEND').push(v as PickleValue);
          break;
        }
        case OP.APPENDS: {
          const items = this.popMark();
          this.list(this.top(), 'APPENDS').push(...(items as PickleValue[]));
          break;
        }
        case OP.EMPTY_TUPLE:
          this.push(new PickleTuple([]));
          break;
        case OP.TUPLE:
          this.push(new PickleTuple(this.popMark() as PickleValue[]));
          break;
        case OP.TUPLE1:
          this.push(new PickleTuple([this.pop() as PickleValue]));
          break;
        case OP.TUPLE2: {
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b] as PickleValue[]));
          break;
        }
        case OP.TUPLE3: {
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(new PickleTuple([a, b, c] as PickleValue[]));
          break;
        }
        case OP.EMPTY_DICT:
          this.push(new Map());
          break;
        case OP.DICT: {
          const items = this.popMark();
          const d: PickleDict = new Map();
          for (let i = 0; i + 1 < items.length; i += 2) this.setItem(d, items[i], items[i + 1]);
          this.push(d);
          break;
        }
        case OP.SETITEM: {
          const v = this.pop();
          const k = this.pop();
          this.setItem(this.top(), k, v);
          break;
        }
        case OP.SETITEMS: {
          const items = this.popMark();
          if (items.length % 2 !== 0) this.corrupt('SETITEMS with an odd number of items');
          const d = this.top();
          for (let i = 0; i < items.length; i += 2) this.setItem(d, items[i], items[i + 1]);
          break;
        }
        case OP.EMPTY_SET:
          this.push(new Set());
          break;
        case OP.ADDITEMS: {
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.corrupt('ADDITEMS on a non-set');
          for (const v of items) s.add(this.key(v));
          break;
        }
        case OP.FROZENSET:
          this.push(new Set(this.popMark().map((v) => this.key(v))));
          break;

        // Memo
        case OP.PUT:
          this.memo.set(this.parseIndex(this.line()), this.top());
          break;
        case OP.BINPUT:
          this.memo.set(this.u8(), this.top());
          break;
        case OP.LONG_BINPUT:
          this.memo.set(this.view.getUint32(this.take(4), true), this.top());
          break;
        case OP.MEMOIZE:
          this.memo.set(this.memo.size, this.top());
          break;
        case OP.GET:
          this.push(this.recall(this.parseIndex(this.line())));
          break;
        case OP.BINGET:
          this.push(this.recall(this.u8()));
          break;
        case OP.LONG_BINGET:
          this.push(this.recall(this.view.getUint32(this.take(4), true)));
          break;

        // Globals, calls and objects: data meanings only
        case OP.GLOBAL: {
          const module = this.line();
          const name = this.line();
          this.push(this.global(module, name));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.corrupt('STACK_GLOBAL needs two strings');
          this.push(this.global(module, name));
          break;
        }
        case OP.REDUCE: {
          const args = this.pop();
          const fn = this.pop();
          this.push(this.reduce(fn, args));
          break;
        }
        case OP.NEWOBJ: {
          const args = this.pop();
          const cls = this.pop();
          this.push(this.newObject(cls, args));
          break;
        }
        case OP.NEWOBJ_EX: {
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size > 0) this.corrupt('NEWOBJ_EX with keyword arguments');
          this.push(this.newObject(cls, args));
          break;
        }
        case OP.BUILD: {
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case OP.BINPERSID: {
          const pid = this.pop();
          if (!this.opts.persistentLoad) this.fail('the pickle references external data (a persistent id) and no loader was given; read .pth files with readPth');
          this.push(this.opts.persistentLoad(pid as PickleValue));
          break;
        }

        default: {
          this.pos = at;
          const name = REFUSED_OPCODES[op];
          const char = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
          if (name) this.fail(`pickle opcode ${name} (0x${hex(op)}) at byte ${at} builds objects by name: refused (nothing is executed)`);
          this.fail(`unknown pickle opcode 0x${hex(op)}${char} at byte ${at}: not a PyTorch state dict or checkpoint, or a corrupt one`);
        }
      }
    }
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** Advances over `n` bytes and returns where they start (truncation is a DataError). */
  private take(n: number): number {
    const at = this.pos;
    if (n > this.bytes.length - at) this.fail(`the pickle is truncated (needs ${n} more bytes at byte ${at}, the data ends at ${this.bytes.length})`);
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  private u64(): number {
    const v = this.view.getBigUint64(this.take(8), true);
    if (v > BigInt(this.bytes.length)) this.fail(`the pickle is truncated (a length of ${v} bytes at byte ${this.pos - 8})`);
    return Number(v);
  }

  private text(n: number, lenientUtf8 = false): string {
    const at = this.take(n);
    const b = this.bytes.subarray(at, at + n);
    try {
      return utf8.decode(b);
    } catch {
      if (lenientUtf8) return latin1.decode(b);
      this.corrupt('a string is not valid UTF-8');
    }
  }

  private bytesOf(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.slice(at, at + n);
  }

  /** A newline-terminated ASCII line (protocol 0 arguments and GLOBAL names). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail(`the pickle is truncated (an unterminated line at byte ${this.pos})`);
    const s = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  /** A little-endian two's-complement integer of n bytes (LONG1, LONG4). */
  private long(n: number): number | bigint {
    const at = this.take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[at + i]);
    if (this.bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return toNumberIfSafe(v);
  }

  private parseInt(text: string): number | bigint {
    if (!/^[+-]?\d+$/.test(text.trim())) this.corrupt(`bad integer text "${text.slice(0, 20)}"`);
    return toNumberIfSafe(BigInt(text.trim()));
  }

  private parseIndex(text: string): number {
    const v = this.parseInt(text);
    if (typeof v !== 'number' || v < 0) this.corrupt('bad memo index');
    return v;
  }

  // ---- the stack -------------------------------------------------------------------------------

  private push(v: Item): void {
    this.stack.push(v);
  }

  private pop(): Item {
    if (this.stack.length === 0) this.corrupt('stack underflow');
    const v = this.stack.pop();
    if (v === MARK) this.corrupt('unexpected MARK');
    return v;
  }

  private top(): Item {
    const v = this.stack[this.stack.length - 1];
    if (this.stack.length === 0 || v === MARK) this.corrupt('stack underflow');
    return v;
  }

  /** The items above the topmost MARK (removing them and the mark). */
  private popMark(): Item[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) this.corrupt('no MARK on the stack');
    const items = this.stack.slice(i + 1);
    this.stack.length = i;
    return items;
  }

  private recall(i: number): Item {
    if (!this.memo.has(i)) this.corrupt(`memo entry ${i} was never stored`);
    return this.memo.get(i);
  }

  private list(v: Item, op: string): PickleValue[] {
    if (!Array.isArray(v)) this.corrupt(`${op} on ${typeof v === 'object' ? 'a non-list' : typeof v}`);
    return v as PickleValue[];
  }

  /** A value usable as a dict key or set member (hashable data). */
  private key(k: Item): PickleKey {
    if (k === null || typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k instanceof PickleTuple) return k;
    this.corrupt('an unhashable dict key or set member');
  }

  private setItem(d: Item, k: Item, v: Item): void {
    if (d instanceof Map) {
      d.set(this.key(k), v);
      return;
    }
    this.corrupt('SETITEM on a non-dict');
  }

  // ---- data meanings of globals ------------------------------------------------------------------

  private global(module: string, name: string): GlobalRef {
    const full = `${module}.${name}`;
    const meaning = Object.prototype.hasOwnProperty.call(ALLOWED, full) ? ALLOWED[full] : undefined;
    if (!meaning) this.fail(`the pickle asks for ${printable(full)}, which is not a tensor or container: refused (nothing is executed)`);
    return new GlobalRef(full, meaning);
  }

  private reduce(fn: Item, args: Item): Item {
    if (!(fn instanceof GlobalRef)) this.corrupt('REDUCE of a non-callable');
    if (!(args instanceof PickleTuple)) this.corrupt(`REDUCE of ${fn.name} without an argument tuple`);
    const a = args.items;
    const m = fn.meaning;
    switch (m.kind) {
      case 'ordered-dict': {
        const d: PickleDict = new Map();
        // OrderedDict() or OrderedDict(iterable of pairs)
        if (a.length === 1 && Array.isArray(a[0])) {
          for (const pair of a[0]) {
            if (!(pair instanceof PickleTuple) || pair.length !== 2) this.corrupt('OrderedDict of non-pairs');
            d.set(this.key(pair.items[0]), pair.items[1]);
          }
        } else if (a.length !== 0) this.corrupt('OrderedDict with unexpected arguments');
        return d;
      }
      case 'rebuild-tensor':
        return this.rebuildTensor(fn.name, a);
      case 'rebuild-parameter': {
        if (!isNamedArray(a[0])) this.corrupt(`${fn.name} of a non-tensor`);
        return a[0];
      }
      case 'rebuild-from-type': {
        // (func, new_type, args, state): the tensor is func(*args); the class and any Python
        // attributes in `state` have no meaning for the weights.
        const [inner, cls, innerArgs] = a;
        if (!(inner instanceof GlobalRef) || !(cls instanceof GlobalRef) || cls.meaning.kind !== 'tensor-class') {
          this.corrupt(`${fn.name} with unexpected arguments`);
        }
        return this.reduce(inner, innerArgs);
      }
      case 'size': {
        if (a.length !== 1 || !(a[0] instanceof PickleTuple || Array.isArray(a[0]))) this.corrupt('torch.Size without a tuple');
        return new PickleTuple(a[0] as Iterable<PickleValue>);
      }
      case 'numpy-dtype': {
        const code = a[0];
        const m = typeof code === 'string' ? /^([fiub])(\d+)$/.exec(code) : null;
        const size = m ? Number(m[2]) : 0;
        const ok = m && (m[1] === 'f' ? [2, 4, 8].includes(size) : m[1] === 'b' ? size === 1 : [1, 2, 4, 8].includes(size));
        if (!ok) this.fail(`the pickle asks for a NumPy dtype ${printable(String(code))}, which is not a plain number type: refused (nothing is executed)`);
        return new NumpyDtype(m![1], size);
      }
      case 'numpy-scalar':
        return this.numpyScalar(a);
      case 'encode': {
        const [text, encoding = 'utf-8'] = a;
        if (typeof text !== 'string' || typeof encoding !== 'string') this.corrupt('_codecs.encode of a non-string');
        const enc = encoding.toLowerCase().replace(/[-_]/g, '');
        if (enc === 'utf8') return new TextEncoder().encode(text);
        if (enc !== 'latin1' && enc !== 'iso88591') this.fail(`_codecs.encode to ${printable(encoding)} is not supported (latin-1 and UTF-8 are)`);
        const out = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) {
          const c = text.charCodeAt(i);
          if (c > 0xff) this.corrupt('a latin-1 byte string with a character above 0xff');
          out[i] = c;
        }
        return out;
      }
      case 'storage':
      case 'tensor-class':
      case 'namespace':
        this.fail(`the pickle calls ${fn.name}, which a state dict never does: refused (nothing is executed)`);
    }
  }

  /** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` (v1: the first four). */
  private rebuildTensor(name: string, a: PickleValue[]): PickleValue {
    if (a.length < 4) this.corrupt(`${name} with ${a.length} arguments`);
    const [storage, offset, size, stride] = a;
    if (!isStorage(storage)) this.corrupt(`${name} without a storage`);
    if (!this.opts.tensors) this.fail('tensors need storages; read .pth files with readPth');
    const dims = this.intTuple(size, 'size');
    const strides = this.intTuple(stride, 'stride');
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) this.corrupt(`${name} with a bad storage offset`);
    return this.opts.tensors.rebuild(storage, offset, dims, strides);
  }

  /** numpy.core.multiarray.scalar(dtype, bytes): the number the bytes hold. */
  private numpyScalar(a: Item[]): PickleValue {
    const [dtype, data] = a;
    if (!(dtype instanceof NumpyDtype) || !(data instanceof Uint8Array)) this.corrupt('a NumPy scalar without a dtype and its bytes');
    if (data.length !== dtype.size) this.corrupt(`a NumPy scalar of ${data.length} bytes for a ${dtype.size}-byte dtype`);
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const le = dtype.littleEndian;
    switch (`${dtype.kind}${dtype.size}`) {
      case 'f8':
        return v.getFloat64(0, le);
      case 'f4':
        return v.getFloat32(0, le);
      case 'f2':
        return float16ToFloat32Array(new Uint16Array([v.getUint16(0, le)]))[0];
      case 'i8':
        return toNumberIfSafe(v.getBigInt64(0, le));
      case 'u8':
        return toNumberIfSafe(v.getBigUint64(0, le));
      case 'i4':
        return v.getInt32(0, le);
      case 'u4':
        return v.getUint32(0, le);
      case 'i2':
        return v.getInt16(0, le);
      case 'u2':
        return v.getUint16(0, le);
      case 'i1':
        return v.getInt8(0);
      case 'u1':
        return v.getUint8(0);
      default: // b1
        return v.getUint8(0) !== 0;
    }
  }

  private intTuple(v: PickleValue, what: string): number[] {
    const items = v instanceof PickleTuple ? v.items : Array.isArray(v) ? v : undefined;
    if (!items || !items.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) this.corrupt(`a tensor ${what} that is not a tuple of non-negative integers`);
    return items as number[];
  }

  private newObject(cls: Item, args: Item): Item {
    if (!(cls instanceof GlobalRef)) this.corrupt('NEWOBJ of a non-class');
    if (cls.meaning.kind === 'namespace') {
      if (!(args instanceof PickleTuple) || args.length !== 0) this.corrupt('argparse.Namespace with constructor arguments');
      // No prototype: attribute names come from the file and must never reach Object.prototype.
      return Object.create(null) as PickleObject;
    }
    this.fail(`the pickle instantiates ${cls.name}, which a state dict never does: refused (nothing is executed)`);
  }

  private build(target: Item, state: Item): void {
    if (target instanceof NumpyDtype) {
      // (version, byte order '<' '>' '|' '=', ...): only the byte order matters for a number.
      const order = state instanceof PickleTuple ? state.items[1] : undefined;
      if (order === '>') target.littleEndian = false;
      else if (order !== '<' && order !== '|' && order !== '=') this.corrupt('a NumPy dtype state without a byte order');
      return;
    }
    if (target instanceof Map) {
      // OrderedDict's attributes: torch stores the modules' `_metadata` (versions) there, which
      // has no meaning for the weights.
      return;
    }
    if (isNamedArray(target)) {
      // Tensor/Parameter state (requires_grad, Python attributes): no meaning for the values.
      return;
    }
    if (isPlainObject(target)) {
      // argparse.Namespace: its attribute dict (or a (dict, slots) pair).
      const dict = state instanceof PickleTuple ? state.items[0] : state;
      const entries = dictEntries(dict);
      if (!entries) this.corrupt('BUILD of a Namespace without an attribute dict');
      for (const [k, v] of entries) {
        if (typeof k !== 'string') this.corrupt('a Namespace attribute name that is not a string');
        Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      return;
    }
    this.corrupt('BUILD of a value that has no state');
  }
}

function isStorage(v: unknown): v is Storage {
  return typeof v === 'object' && v !== null && typeof (v as Storage).type === 'string' && (v as Storage).type in STORAGE_TYPES && typeof (v as Storage).key === 'string';
}

function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function hex(op: number): string {
  return op.toString(16).padStart(2, '0');
}

/** A name from the file, safe to print on one line. */
function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

/** The storage class a `torch.*Storage` global stands for, or undefined. */
export function storageTypeOf(v: unknown): StorageTypeName | undefined {
  return v instanceof GlobalRef && v.meaning.kind === 'storage' ? v.meaning.type : undefined;
}
