/**
 * Hostile input: every way a user, a file or the machine can hand the `dino` command something
 * wrong (flags, config files, run directories, output paths, checkpoints, data files), each
 * answered the same way: exit code 2, one `Error:` line naming the thing and the problem, no
 * stack trace, and no existing run file changed (every watched directory is hashed before and
 * after).
 *
 * Speed: one tiny run is trained once and shared; almost every case fails before any training
 * starts. Most cases call the CLI's `main(argv)` in this process (stderr captured); a share of
 * them (marked `bin`) run the built binary in a child process, so the real exit path is covered
 * too. Needs `pnpm build` first (for the binary and the shared run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { tempDir } from '@dino-ts/core/testing';
import { main } from './cli';

const BIN = resolve(__dirname, '../dist/bin.js');
// The shared tiny run: 64 images of 16 px, batch 16, 2 iterations.
const TINY = ['--preset', 'smoke', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--backend', 'wasm', '--no-report', '--eval-every', '0'];

interface Result {
  code: number | null;
  err: string;
}

function viaBinary(args: string[]): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, err: r.stderr };
}

/** `main(argv)` in this process, with stderr (and stdout) captured and a time limit. */
async function inProcess(args: string[]): Promise<Result> {
  const chunks: string[] = [];
  const errWrite = process.stderr.write, outWrite = process.stdout.write;
  const capture = ((s: string | Uint8Array) => {
    chunks.push(typeof s === 'string' ? s : Buffer.from(s).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  process.stderr.write = capture;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.exitCode = undefined;
  try {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<number>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`dino ${args.join(' ')} took over 30 s`)), 30_000);
    });
    const code = await Promise.race([main(args), limit]).finally(() => clearTimeout(timer));
    return { code, err: chunks.join('') };
  } finally {
    process.stderr.write = errWrite;
    process.stdout.write = outWrite;
    process.exitCode = undefined;
  }
}

/** Name -> sha1 of every file directly in `dir` (hidden ones too); an absent folder is empty. */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const link = lstatSync(p);
    if (link.isSymbolicLink()) {
      out[name] = `link to ${readlinkSync(p)}`;
      continue;
    }
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || !st.isFile()) {
      out[name] = st?.isDirectory() ? 'dir' : 'other';
      continue;
    }
    out[name] = createHash('sha1').update(readFileSync(p)).digest('hex');
  }
  return out;
}

// ---------------------------------------------------------------- fixtures

let base = '';
const P: Record<string, string> = {};
let rofsMounted = false;

function sh(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** An IDX file: big-endian magic, dimensions, then the bytes. */
function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

function fmnist(dir: string, images: Buffer, labels: Buffer, opts: { gz?: boolean; test?: boolean } = {}): void {
  mkdirSync(dir, { recursive: true });
  const gz = opts.gz ?? true;
  const put = (name: string, b: Buffer) => writeFileSync(join(dir, name + (gz ? '.gz' : '')), gz ? gzipSync(b) : b);
  put('train-images-idx3-ubyte', images);
  put('train-labels-idx1-ubyte', labels);
  if (opts.test ?? true) {
    const n = 40;
    put('t10k-images-idx3-ubyte', idx(2051, [n, 28, 28], new Uint8Array(n * 784).fill(7)));
    put('t10k-labels-idx1-ubyte', idx(2049, [n], new Uint8Array(n).map((_, i) => i % 10)));
  }
}

const goodImages = (n: number) => idx(2051, [n, 28, 28], new Uint8Array(n * 784).map((_, i) => i % 251));
const goodLabels = (n: number) => idx(2049, [n], new Uint8Array(n).map((_, i) => i % 10));

async function png(file: string, v: number, size = 8): Promise<void> {
  await sharp(Buffer.alloc(size * size * 3, v), { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
}

/** The shared run's checkpoint as header (parsed) and data section. */
function readCheckpointParts(dir: string): { header: Record<string, any>; data: Buffer } {
  const b = readFileSync(join(dir, 'checkpoint.safetensors'));
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString('utf8')), data: b.subarray(8 + n) };
}

function safetensorsBytes(headerText: string, data: Buffer): Buffer {
  const json = Buffer.from(headerText, 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(padded));
  return Buffer.concat([len, json, Buffer.alloc(padded - json.length, 0x20), data]);
}

/** A copy of the shared run whose checkpoint is `bytes` (or made by `edit` from its header). */
function runCopy(name: string, bytes?: Buffer | ((h: Record<string, any>, data: Buffer) => Buffer)): string {
  const dir = join(base, 'ck', name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['checkpoint.json', 'metrics.jsonl']) copyFileSync(join(P.run, f), join(dir, f));
  if (bytes === undefined) copyFileSync(join(P.run, 'checkpoint.safetensors'), join(dir, 'checkpoint.safetensors'));
  else if (Buffer.isBuffer(bytes)) writeFileSync(join(dir, 'checkpoint.safetensors'), bytes);
  else {
    const { header, data } = readCheckpointParts(P.run);
    writeFileSync(join(dir, 'checkpoint.safetensors'), bytes(header, data));
  }
  return dir;
}

/** A checkpoint copy with its header edited (`edit` changes the parsed header in place). */
function editedHeader(name: string, edit: (h: Record<string, any>) => void): string {
  return runCopy(name, (h, data) => {
    edit(h);
    return safetensorsBytes(JSON.stringify(h), data);
  });
}

/** A checkpoint copy with its run state edited. */
function editedRun(name: string, edit: (run: Record<string, any>) => void): string {
  return editedHeader(name, (h) => {
    const run = JSON.parse(h.__metadata__.run);
    edit(run);
    h.__metadata__.run = JSON.stringify(run);
  });
}

// ---------------------------------------------------------------- cases

type Category = 'flags' | 'config files' | 'run directories' | 'output paths' | 'checkpoints' | 'data files';

interface Case {
  name: string;
  category: Category;
  /** The command line (fixtures are made by the time this is called). */
  args: () => string[];
  /** What the one error line must say. */
  expect: RegExp;
  /** Run the built binary instead of main() in-process. */
  bin?: boolean;
  /** Directories (besides the shared runs) whose files must not change. */
  watch?: () => string[];
  /** Needs the read-only mount. */
  rofs?: boolean;
  /** Run just before the case (before the files are hashed). */
  prepare?: () => void;
}

const out = (name: string) => ['--out', join(base, 'new', name)];
const train = (...a: string[]) => ['train', ...TINY, ...a];
const cfg = (name: string) => join(base, 'cfg', name);
const ck = (name: string) => join(base, 'ck', name);
const data = (name: string) => join(base, 'data', name);

const CASES: Case[] = [];
const add = (category: Category, list: Omit<Case, 'category'>[]) => CASES.push(...list.map((c) => ({ ...c, category })));

// Flags: ranges, types, choices and the rules across settings, all refused before any work.
add('flags', [
  { name: '--epochs 1e12', args: () => train('--epochs', '1e12', ...out('f1')), expect: /--epochs = 1000000000000: must be an integer >= 1 and <= 1000000000/, bin: true },
  { name: '--epochs 0', args: () => train('--epochs', '0', ...out('f2')), expect: /--epochs = 0: must be an integer >= 1/ },
  { name: '--epochs -3', args: () => train('--epochs', '-3', ...out('f3')), expect: /--epochs = -3/ },
  { name: '--epochs 2.5', args: () => train('--epochs', '2.5', ...out('f4')), expect: /--epochs = 2\.5: must be an integer/ },
  { name: '--out-dim 2147483648', args: () => train('--out-dim', '2147483648', ...out('f5')), expect: /--out-dim = 2147483648: must be an integer >= 1 and <= 1048576/, bin: true },
  { name: '--out-dim 0', args: () => train('--out-dim', '0', ...out('f6')), expect: /--out-dim = 0/ },
  { name: '--batch-size 0', args: () => train('--batch-size', '0', ...out('f7')), expect: /--batch-size = 0/ },
  { name: '--batch-size 100000', args: () => train('--batch-size', '100000', ...out('f8')), expect: /--batch-size = 100000: must be an integer >= 1 and <= 65536/ },
  { name: '--batch-size many', args: () => train('--batch-size', 'many', ...out('f9')), expect: /--batch-size needs a number, got "many"/, bin: true },
  { name: '--batch-size larger than --train-size', args: () => train('--batch-size', '128', ...out('f10')), expect: /--batch-size = 128: must be at most --train-size \(64\)/ },
  { name: '--lr -1', args: () => train('--lr', '-1', ...out('f11')), expect: /--lr = -1: must be a finite number > 0/ },
  { name: '--lr 0', args: () => train('--lr', '0', ...out('f12')), expect: /--lr = 0/ },
  { name: '--lr NaN', args: () => train('--lr', 'NaN', ...out('f13')), expect: /--lr needs a number, got "NaN"/ },
  { name: '--lr Infinity', args: () => train('--lr', 'Infinity', ...out('f14')), expect: /--lr needs a number, got "Infinity"/ },
  { name: '--teacher-temp 0', args: () => train('--teacher-temp', '0', ...out('f15')), expect: /--teacher-temp = 0: must be a finite number > 0/ },
  { name: '--momentum-teacher 1.5', args: () => train('--momentum-teacher', '1.5', ...out('f16')), expect: /--momentum-teacher = 1\.5: must be a finite number >= 0 and <= 1/ },
  { name: '--center-momentum -0.1', args: () => train('--center-momentum', '-0.1', ...out('f17')), expect: /--center-momentum = -0\.1/ },
  { name: 'reversed --global-crops-scale', args: () => train('--global-crops-scale', '0.9,0.1', ...out('f18')), expect: /--global-crops-scale = \[0\.9,0\.1\]: must be two finite numbers lo <= hi/, bin: true },
  { name: '--global-crops-scale from 0', args: () => train('--global-crops-scale', '0,1', ...out('f19')), expect: /--global-crops-scale = \[0,1\]: .*> 0 and <= 1/ },
  { name: '--local-crops-scale past 1', args: () => train('--local-crops-scale', '0.05,1.5', ...out('f20')), expect: /--local-crops-scale = \[0\.05,1\.5\]/ },
  { name: '--local-crops-scale one number', args: () => train('--local-crops-scale', '0.3', ...out('f21')), expect: /--local-crops-scale needs two numbers separated by a comma/ },
  { name: '--local-crops-scale not numbers', args: () => train('--local-crops-scale', 'a,b', ...out('f22')), expect: /--local-crops-scale needs two numbers/ },
  { name: '--warmup-epochs past --epochs', args: () => train('--warmup-epochs', '5', ...out('f23')), expect: /--warmup-epochs = 5: must be at most --epochs \(2\)/, bin: true },
  { name: '--warmup-teacher-temp-epochs past --epochs', args: () => train('--warmup-teacher-temp-epochs', '3', ...out('f24')), expect: /--warmup-teacher-temp-epochs = 3: must be at most --epochs \(2\)/ },
  { name: '--num-heads not dividing --embed-dim', args: () => train('--num-heads', '3', ...out('f25')), expect: /--num-heads = 3: must divide --embed-dim \(32\)/ },
  { name: '--patch-size not dividing the image', args: () => train('--patch-size', '5', ...out('f26')), expect: /--image-size = 16: must be a multiple of --patch-size \(5\)/ },
  { name: '--local-crops-size not a patch multiple', args: () => train('--local-crops-size', '6', ...out('f27')), expect: /--local-crops-size = 6: must be a multiple of --patch-size \(4\)/ },
  { name: '--local-crops-size over the global size', args: () => train('--local-crops-size', '32', ...out('f28')), expect: /--local-crops-size = 32: must be at most the global crop size \(16\)/ },
  { name: '--global-crops-size not a patch multiple', args: () => train('--global-crops-size', '18', ...out('f29')), expect: /--global-crops-size = 18: must be a multiple of --patch-size/ },
  { name: '--image-size 3', args: () => train('--image-size', '3', ...out('f30')), expect: /--image-size = 3: must be an integer >= 4/ },
  { name: '--image-size 100000', args: () => train('--image-size', '100000', ...out('f31')), expect: /--image-size = 100000: .*<= 16384/ },
  { name: '--hidden-dim 1e9', args: () => train('--hidden-dim', '1000000000', ...out('f32')), expect: /--hidden-dim = 1000000000: .*<= 65536/ },
  { name: 'a last layer of 2^36 weights', args: () => train('--bottleneck-dim', '65536', '--out-dim', '1048576', ...out('f33')), expect: /largest weight \(head\.last_layer\.weight\) would have 68719476736 values, more than 2\^30/ },
  { name: 'a model of trillions of weights', args: () => train('--embed-dim', '16384', '--depth', '1024', '--num-heads', '16', ...out('f34')), expect: /the model would have about \d+\.\d billion weights/, bin: true },
  { name: '--depth 0', args: () => train('--depth', '0', ...out('f35')), expect: /--depth = 0/ },
  { name: '--depth 100000', args: () => train('--depth', '100000', ...out('f36')), expect: /--depth = 100000: .*<= 1024/ },
  { name: '--embed-dim 1e8', args: () => train('--embed-dim', '100000000', ...out('f37')), expect: /--embed-dim = 100000000: .*<= 16384/ },
  { name: '--seed -1', args: () => train('--seed', '-1', ...out('f38')), expect: /--seed = -1/ },
  { name: '--seed 1e10', args: () => train('--seed', '1e10', ...out('f39')), expect: /--seed = 10000000000: .*<= 4294967295/ },
  { name: '--drop-path-rate 1', args: () => train('--drop-path-rate', '1', ...out('f40')), expect: /--drop-path-rate = 1: .*< 1/ },
  { name: '--jitter-hue 0.6', args: () => train('--jitter-hue', '0.6', ...out('f41')), expect: /--jitter-hue = 0\.6/ },
  { name: '--grayscale-p 2', args: () => train('--grayscale-p', '2', ...out('f42')), expect: /--grayscale-p = 2/ },
  { name: '--dataset nope', args: () => train('--dataset', 'nope', ...out('f43')), expect: /option '--dataset <name>' argument 'nope' is invalid/, bin: true },
  { name: '--backend nope', args: () => train('--backend', 'nope', ...out('f44')), expect: /option '--backend <name>' argument 'nope' is invalid/ },
  { name: '--arch nope', args: () => train('--arch', 'nope', ...out('f45')), expect: /--arch = "nope": must be one of .*vit_small/ },
  { name: '--preset nope', args: () => ['train', '--preset', 'nope', ...out('f46')], expect: /option '--preset <name>' argument 'nope' is invalid/ },
  { name: '--knn-k over the training images', args: () => train('--knn-k', '1000', ...out('f47')), expect: /--knn-k = 1000: must be at most the number of training images \(64\)/ },
  { name: 'an unknown flag', args: () => train('--bogus-flag', '3', ...out('f48')), expect: /unknown option '--bogus-flag'/, bin: true },
  { name: '--max-iterations 0', args: () => train('--max-iterations', '0', ...out('f49')), expect: /--max-iterations = 0/ },
  { name: '--save-every -1', args: () => train('--save-every', '-1', ...out('f50')), expect: /--save-every = -1/ },
  { name: '--time-limit 0', args: () => train('--time-limit', '0', ...out('f51')), expect: /--time-limit = 0: must be a finite number > 0/ },
  { name: '--shapes-classes 11', args: () => train('--shapes-classes', '11', ...out('f52')), expect: /--shapes-classes = 11: .*<= 10/ },
  { name: '--shapes-textures bogus', args: () => train('--shapes-textures', 'bogus', ...out('f53')), expect: /textures = "bogus": each texture must be one of/ },
  { name: 'an empty --out', args: () => train('--out', ''), expect: /--out = "": must be a non-empty string/ },
  { name: '--resume with --overwrite', args: () => ['train', '--resume', '--overwrite', '--backend', 'wasm', '--out', P.run], expect: /--resume and --overwrite contradict each other/, bin: true },
  { name: '--nlayers 0', args: () => train('--nlayers', '0', ...out('f56')), expect: /--nlayers = 0/ },
  { name: '--micro-batch -1', args: () => train('--micro-batch', '-1', ...out('f57')), expect: /--micro-batch = -1/ },
  { name: '--local-crops-number 65', args: () => train('--local-crops-number', '65', ...out('f58')), expect: /--local-crops-number = 65: .*<= 64/ },
  { name: 'a newline in --out', args: () => train('--out', join(base, 'new', 'a\nb')), expect: /--out = ".*\\n.*": must not hold control characters/ },
  { name: 'a NUL in --data', args: () => train('--dataset', 'folder', '--data', 'a\0b', ...out('f60')), expect: /--data = ".*": must not hold control characters/ },
  { name: '--train-size 1e9', args: () => train('--train-size', '1000000000', ...out('f61')), expect: /--train-size = 1000000000: .*<= 10000000/ },
  { name: 'eval --bank -3', args: () => ['eval', 'knn', '--out', P.run, '--backend', 'wasm', '--bank', '-3'], expect: /--bank needs a whole number of images \(0: all\), got "-3"/ },
  { name: 'embed --split nope', args: () => ['embed', '--out', P.run, '--to', join(base, 'new', 'e.safetensors'), '--split', 'nope', '--backend', 'wasm'], expect: /--split = "nope": must be train or test/ },
  { name: 'info --preset nope', args: () => ['info', '--preset', 'nope', '--backend', 'wasm'], expect: /--preset = "nope": must be one of shapes/ },
]);

// Config files: the file itself (kind, size, syntax) and every value in it, as flags are checked.
add('config files', [
  { name: 'a missing file', args: () => train('--config', cfg('nope.yaml'), ...out('c1')), expect: /Config file .*nope\.yaml does not exist/ },
  { name: 'a folder', args: () => train('--config', cfg('folder.yaml'), ...out('c2')), expect: /Config file .*folder\.yaml is a folder, not a file/ },
  { name: 'a named pipe', args: () => train('--config', cfg('fifo.yaml'), ...out('c3')), expect: /Config file .*fifo\.yaml is not a regular file/, bin: true },
  { name: '/dev/zero', args: () => train('--config', '/dev/zero', ...out('c4')), expect: /Config file \/dev\/zero is not a regular file/, bin: true },
  { name: 'a link to /dev/zero', args: () => train('--config', cfg('zero.yaml'), ...out('c5')), expect: /Config file .*zero\.yaml is not a regular file/ },
  { name: 'a 2 MB file', args: () => train('--config', cfg('huge.yaml'), ...out('c6')), expect: /huge\.yaml is 2097152 bytes, more than the 1048576/ },
  { name: 'invalid YAML', args: () => train('--config', cfg('bad.yaml'), ...out('c7')), expect: /bad\.yaml is not valid YAML/ },
  { name: 'invalid JSON', args: () => train('--config', cfg('bad.json'), ...out('c8')), expect: /bad\.json is not valid JSON/, bin: true },
  { name: 'a YAML list', args: () => train('--config', cfg('list.yaml'), ...out('c9')), expect: /list\.yaml must hold a mapping of settings/ },
  { name: 'a YAML scalar', args: () => train('--config', cfg('scalar.yaml'), ...out('c10')), expect: /scalar\.yaml must hold a mapping of settings/ },
  { name: 'JSON null', args: () => train('--config', cfg('null.json'), ...out('c11')), expect: /null\.json must hold a mapping of settings/ },
  { name: 'an unknown key', args: () => train('--config', cfg('unknown.json'), ...out('c12')), expect: /unknown setting\(s\): --epochz/ },
  { name: 'a "__proto__" key', args: () => train('--config', cfg('proto.json'), ...out('c13')), expect: /unknown setting\(s\): --.*proto__/ },
  { name: 'epochs as text', args: () => train('--config', cfg('text.yaml'), ...out('c14')), expect: /--epochs = "ten": must be an integer/ },
  { name: 'epochs 1e12', args: () => train('--config', cfg('epochs.yaml'), ...out('c15')), expect: /--epochs = 1000000000000: .*<= 1000000000/ },
  { name: 'reversed crop scale', args: () => train('--config', cfg('scale.yaml'), ...out('c16')), expect: /--global-crops-scale = \[0\.9,0\.1\]: must be two finite numbers lo <= hi/ },
  { name: 'a crop scale of one number', args: () => train('--config', cfg('scale1.yaml'), ...out('c17')), expect: /--local-crops-scale = \[0\.5\]/ },
  { name: 'warm-up past the epochs', args: () => train('--config', cfg('warmup.yaml'), ...out('c18')), expect: /--warmup-epochs = 50: must be at most --epochs \(2\)/ },
  { name: 'lr .nan', args: () => train('--config', cfg('nan.yaml'), ...out('c19')), expect: /--lr = NaN: must be a finite number/ },
  { name: 'a NUL in out', args: () => train('--config', cfg('nul.json'), ...out('c20')).filter((a, i, all) => !(a === '--out' || all[i - 1] === '--out')), expect: /--out = ".*": must not hold control characters/ },
  { name: 'snake_case batch_size 0', args: () => train('--config', cfg('snake.yaml'), ...out('c21')).filter((a, i, all) => a !== '--batch-size' && all[i - 1] !== '--batch-size'), expect: /--batch-size = 0/ },
  { name: 'duplicate keys', args: () => train('--config', cfg('dup.yaml'), ...out('c22')), expect: /dup\.yaml is not valid YAML: Map keys must be unique/ },
  { name: 'an alias bomb', args: () => train('--config', cfg('bomb.yaml'), ...out('c23')), expect: /bomb\.yaml is not valid YAML: Excessive alias count/, bin: true },
  { name: 'resume: true', args: () => train('--config', cfg('resume.yaml'), ...out('c24')), expect: /unknown setting\(s\): --resume/ },
  { name: 'out-dim 2^31', args: () => train('--config', cfg('outdim.json'), ...out('c25')), expect: /--out-dim = 2147483648/ },
  { name: 'teacher-temp -1', args: () => train('--config', cfg('temp.yaml'), ...out('c26')), expect: /--teacher-temp = -1/ },
  { name: 'arch of a wrong type', args: () => train('--config', cfg('arch.json'), ...out('c27')), expect: /--arch = \{"name":"vit"\}: must be a non-empty string/ },
  { name: 'report as a string', args: () => train('--config', cfg('report.yaml'), ...out('c28')).filter((a) => a !== '--no-report'), expect: /--report = "yes": must be true or false/ },
  { name: 'a config that contradicts --resume', args: () => ['train', '--resume', '--backend', 'wasm', '--config', cfg('lr.yaml'), '--out', P.run], expect: /--resume continues the run in .* but --lr 0\.1 \(the run has 0\.002\) differs/ },
]);

// Run directories: owned by one trainer, never replaced or truncated without --overwrite.
add('run directories', [
  { name: 'a new run over an existing one', args: () => train('--out', P.run), expect: /already holds a run \(checkpoint\.safetensors, checkpoint\.json, metrics\.jsonl\): continue it with --resume, or replace it with --overwrite/, bin: true },
  { name: 'a new run over a run with only metrics', args: () => train('--out', ck('metrics-only')), expect: /already holds a run \(metrics\.jsonl\)/, watch: () => [ck('metrics-only')] },
  { name: '--out that is a file', args: () => train('--out', join(P.run, 'checkpoint.json')), expect: /--out .*checkpoint\.json is a file, not a folder/, bin: true },
  { name: '--out under a file', args: () => train('--out', join(P.run, 'metrics.jsonl', 'sub')), expect: /--out .*metrics\.jsonl\/sub cannot be used: a part of the path is a file, not a folder/ },
  { name: '--out /dev/null', args: () => train('--out', '/dev/null'), expect: /--out \/dev\/null is a character device, not a folder/ },
  { name: '--out that cannot be created', args: () => train('--out', '/proc/self/dino-x'), expect: /--out \/proc\/self\/dino-x cannot be created/, bin: true },
  { name: '--out on a read-only file system', args: () => train('--out', join(base, 'rofs', 'run')), expect: /--out .*rofs\/run cannot be created: the file system is read-only/, rofs: true },
  { name: '--out a read-only folder', args: () => train('--out', join(base, 'rofs')), expect: /cannot write in .*rofs \(creating \.dino-train\.lock\): the file system is read-only/, rofs: true },
  { name: '--resume in a folder that does not exist', args: () => ['train', '--resume', '--backend', 'wasm', '--out', join(base, 'nope')], expect: /--out .*nope does not exist/ },
  { name: '--resume in a folder without a checkpoint', args: () => ['train', '--resume', '--backend', 'wasm', '--out', P.empty], expect: /holds no checkpoint \(expected checkpoint\.safetensors\): train into it first, without --resume/, bin: true, watch: () => [P.empty] },
  { name: '--resume with a different architecture', args: () => ['train', '--resume', '--backend', 'wasm', '--embed-dim', '64', '--num-heads', '2', '--out', P.run], expect: /--resume continues the run .* but --embed-dim 64 \(the run has 32\) differs/ },
  { name: '--resume with more epochs', args: () => ['train', '--resume', '--backend', 'wasm', '--epochs', '5', '--out', P.run], expect: /but --epochs 5 \(the run has 2\) differs: drop it to continue, or start a new run with --overwrite/, bin: true },
  { name: '--resume with another preset', args: () => ['train', '--resume', '--backend', 'wasm', '--preset', 'shapes', '--out', P.run], expect: /--resume continues the run .* but .*--image-size 32 \(the run has 16\)/ },
  { name: 'a directory locked by a live trainer', args: () => ['train', '--resume', '--backend', 'wasm', '--out', P.locked], expect: /is in use by dino train \(pid \d+ on .*, started .*\): wait for it to end or stop it; if that process is gone, remove .*\.dino-train\.lock/, bin: true, watch: () => [P.locked] },
  { name: 'a new run in a locked directory', args: () => train('--overwrite', '--out', P.locked), expect: /is in use by dino train/, watch: () => [P.locked] },
  {
    name: 'a fresh unreadable lock',
    args: () => ['train', '--resume', '--backend', 'wasm', '--out', ck('badlock')],
    expect: /has a lock file .* that cannot be read: another trainer may be starting/,
    watch: () => [ck('badlock')],
    // Written just now: another trainer may be half-way through taking the lock.
    prepare: () => writeFileSync(join(ck('badlock'), '.dino-train.lock'), '{"pid": 12'),
  },
  { name: 'a metrics log damaged before its last line', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('bad-metrics')], expect: /metrics\.jsonl: line 1 is not a metrics row .*: fix or delete that line; the checkpoint itself is intact/, watch: () => [ck('bad-metrics')] },
  { name: 'a metrics log that is a folder', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('dir-metrics')], expect: /the metrics log .*metrics\.jsonl is a folder, not a regular file/, watch: () => [ck('dir-metrics')] },
  { name: 'info on a file', args: () => ['info', '--backend', 'wasm', '--out', join(P.run, 'checkpoint.safetensors')], expect: /--out .*checkpoint\.safetensors is a file, not a run folder/ },
  { name: 'info on nothing', args: () => ['info', '--backend', 'wasm', '--out', join(base, 'nope')], expect: /--out .*nope does not exist/, bin: true },
  { name: 'eval knn on an empty folder', args: () => ['eval', 'knn', '--backend', 'wasm', '--out', P.empty], expect: /holds no checkpoint .*train into it first with `dino train --out/, watch: () => [P.empty] },
  { name: 'eval attention on /dev/null', args: () => ['eval', 'attention', '--backend', 'wasm', '--out', '/dev/null'], expect: /--out \/dev\/null is a character device, not a run folder/ },
  { name: 'export from an empty folder', args: () => ['export', '--out', P.empty, '--to', join(base, 'new', 'x.safetensors')], expect: /holds no checkpoint/, watch: () => [P.empty] },
  { name: 'embed from a folder that does not exist', args: () => ['embed', '--backend', 'wasm', '--out', join(base, 'nope'), '--to', join(base, 'new', 'y.safetensors')], expect: /--out .*nope does not exist/ },
]);

// Output paths: checked before any work; never a run's own file, a folder or a device.
add('output paths', [
  { name: 'export --to the run folder', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', P.run], expect: /--to .*run is a folder: pass the path of a file to write/, bin: true },
  { name: 'export --to the checkpoint', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, 'checkpoint.safetensors')], expect: /is the run file checkpoint\.safetensors of .*: a run's own files are never written over/, bin: true },
  { name: 'export --to checkpoint.json', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, 'checkpoint.json')], expect: /is the run file checkpoint\.json/ },
  { name: 'export --to metrics.jsonl', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, 'metrics.jsonl')], expect: /is the run file metrics\.jsonl/ },
  { name: 'export --to report.html', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, 'report.html')], expect: /is the run file report\.html/ },
  { name: 'export --to the lock file', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, '.dino-train.lock')], expect: /is the run file \.dino-train\.lock/ },
  { name: 'export --to a temporary file name', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, '.checkpoint.safetensors.123.tmp')], expect: /is the run file \.checkpoint\.safetensors\.123\.tmp/ },
  { name: 'export --to a link to the checkpoint', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(base, 'links', 'ck.safetensors')], expect: /is the run file checkpoint\.safetensors of/ },
  { name: 'export --to the checkpoint by a detour', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, '..', 'run', 'checkpoint.safetensors')], expect: /is the run file checkpoint\.safetensors/ },
  { name: 'export --to another run\'s metrics', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.other, 'metrics.jsonl')], expect: /is the run file metrics\.jsonl of .*other/, bin: true },
  { name: 'export --to /dev/full', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', '/dev/full'], expect: /--to \/dev\/full is a character device: pass the path of a file to write/ },
  { name: 'export --to a named pipe', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(base, 'links', 'pipe')], expect: /--to .*pipe is a named pipe/, bin: true },
  { name: 'export --to under a file', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(P.run, 'checkpoint.json', 'x.safetensors')], expect: /--to .*checkpoint\.json\/x\.safetensors cannot be used: a part of the path is a file, not a folder/ },
  { name: 'export --to a folder that cannot be made', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', '/proc/self/dino-x/y.safetensors'], expect: /--to \/proc\/self\/dino-x\/y\.safetensors: its folder cannot be created/ },
  { name: 'export --to a read-only file system', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', join(base, 'rofs', 'x.safetensors')], expect: /--to .*rofs\/x\.safetensors cannot be written: the file system is read-only/, rofs: true },
  { name: 'export --to a NUL path', args: () => ['export', '--format', 'safetensors', '--out', P.run, '--to', 'a\0b.safetensors'], expect: /--to "a\\u0000b\.safetensors" holds a NUL character/ },
  { name: 'export as .pth over the checkpoint', args: () => ['export', '--format', 'pth', '--out', P.run, '--to', join(P.run, 'checkpoint.safetensors')], expect: /is the run file checkpoint\.safetensors of/ },
  { name: 'export as ONNX into the run folder itself', args: () => ['export', '--format', 'onnx', '--out', P.run, '--to', P.run], expect: /--to .*run is a folder/ },
  { name: 'convert a checkpoint onto itself', args: () => ['convert', join(P.run, 'checkpoint.safetensors'), join(P.run, 'checkpoint.safetensors')], expect: /OUT .*checkpoint\.safetensors is the run file checkpoint\.safetensors/, bin: true },
  { name: 'convert onto another run\'s checkpoint', args: () => ['convert', join(base, 'links', 'ck.safetensors'), join(P.other, 'checkpoint.safetensors')], expect: /is the run file checkpoint\.safetensors of .*other/ },
  { name: 'embed --to the run folder', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', P.run], expect: /--to .*run is a folder/, bin: true },
  { name: 'embed --to the checkpoint', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', join(P.run, 'checkpoint.safetensors')], expect: /is the run file checkpoint\.safetensors/ },
  { name: 'embed --to evaluation.json', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', join(P.run, 'evaluation.json')], expect: /is the run file evaluation\.json/ },
  { name: 'embed --to /dev/full', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', '/dev/full'], expect: /--to \/dev\/full is a character device/ },
  { name: 'embed --to under a file', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', join(P.run, 'metrics.jsonl', 'e.safetensors')], expect: /a part of the path is a file, not a folder/ },
  { name: 'embed --to a read-only file system', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', join(base, 'rofs', 'e.safetensors')], expect: /cannot be written: the file system is read-only/, rofs: true },
  { name: 'embed --to a PNG of the report', args: () => ['embed', '--backend', 'wasm', '--out', P.run, '--to', join(P.run, 'attention.png')], expect: /is the run file attention\.png/ },
]);

// Checkpoints: the file, its header, its run state (re-validated as flags are) and its tensors.
const commands = (dir: string, k: number) =>
  [
    ['info', '--backend', 'wasm', '--out', dir],
    ['eval', 'knn', '--backend', 'wasm', '--out', dir],
    ['export', '--out', dir, '--to', join(base, 'new', `export-${k}.safetensors`)],
    ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', dir],
  ][k % 4];
let ckIndex = 0;
const ckCase = (name: string, dir: string, expect: RegExp, extra: Partial<Case> = {}): Omit<Case, 'category'> => {
  const k = ckIndex++;
  return { name, args: () => commands(ck(dir), k), expect, watch: () => [ck(dir)], ...extra };
};
add('checkpoints', [
  ckCase('a folder', 'is-dir', /the checkpoint .*checkpoint\.safetensors is a folder, not a regular file/),
  ckCase('a named pipe', 'fifo', /the checkpoint .*checkpoint\.safetensors is a named pipe, not a regular file/, { bin: true }),
  ckCase('a link to /dev/zero', 'zero', /the checkpoint .*checkpoint\.safetensors is a character device, not a regular file/, { bin: true }),
  ckCase('an empty file', 'empty', /too short to be a safetensors file \(0 bytes\)/),
  ckCase('5 bytes', 'short', /too short to be a safetensors file \(5 bytes\)/),
  ckCase('a header length of 2^60', 'hugelen', /header length 1152921504606846976 does not fit/),
  ckCase('a header length past the end', 'pastlen', /header length \d+ does not fit in \d+ bytes; the file is truncated/),
  ckCase('a header that is not JSON', 'notjson', /header is not valid JSON/),
  ckCase('a header that is an array', 'array', /header must be a JSON object of tensors, got an array/),
  ckCase('a null entry', 'null-entry', /tensor "teacher\.backbone\.cls_token" has header entry null/, { bin: true }),
  ckCase('an entry that is a number', 'num-entry', /tensor "student\.backbone\.norm\.bias" has header entry 7/),
  ckCase('an unknown dtype', 'dtype', /has unsupported dtype "F8"/),
  ckCase('a dtype that does not match the bytes', 'dtype-size', /"teacher\.backbone\.norm\.weight" has data_offsets \[\d+, \d+\] but I8 \[32\] needs 32 bytes/),
  ckCase('reversed offsets', 'reversed', /has data_offsets \[\d+,\d+\]; expected \[begin, end\] with integers 0 <= begin <= end/),
  ckCase('negative offsets', 'negative', /has data_offsets \[-8,0\]/),
  ckCase('offsets off the dtype size', 'unaligned', /has data_offsets \[\d+, \d+\] but F32 \[32\] needs 128 bytes/),
  ckCase('offsets past the end', 'past-end', /past the end of the data section/),
  ckCase('overlapping tensors', 'overlap', /tensors ".*" \(data_offsets .*\) and ".*" \(data_offsets .*\) overlap/),
  ckCase('a tensor named twice', 'duplicate', /header lists tensor "teacher\.backbone\.cls_token" twice/, { bin: true }),
  ckCase('metadata that is not strings', 'meta-num', /__metadata__ must be an object of strings, but "reason" is number 3/),
  ckCase('no run state', 'no-run', /holds no run state \(metadata "run"\); it was not written by dino train/),
  ckCase('a run state that is not JSON', 'run-notjson', /the run state \(metadata "run"\) is not valid JSON/),
  ckCase('a run state without an iteration', 'run-noiter', /the run state .* has iteration undefined, not a whole number >= 0/),
  ckCase('a negative iteration', 'run-negiter', /has iteration -4, not a whole number >= 0/),
  ckCase('a mean of 2 channels', 'run-mean', /has mean \[0\.5,0\.5\], not 1 or 3 finite numbers/),
  ckCase('a std of 0', 'run-std', /has std \[0,1,1\], not 3 finite numbers > 0/),
  ckCase('no settings', 'run-noconfig', /has no settings object \("config"\)/),
  ckCase('trainSize 1e9 edited in', 'run-trainsize', /holds settings that are not valid: --train-size = 1000000000/, { bin: true }),
  ckCase('an unknown setting edited in', 'run-unknown', /holds settings that are not valid: unknown setting\(s\): --evil/),
  ckCase('epochs 0 edited in', 'run-epochs', /holds settings that are not valid: --epochs = 0/),
  ckCase('warm-up past the epochs edited in', 'run-warmup', /holds settings that are not valid: --warmup-epochs = 9: must be at most --epochs \(2\)/),
  ckCase('a teacher tensor without its student twin', 'no-twin', /teacher\.backbone\.blocks\.0\.attn\.qkv\.weight has no student\.backbone\.blocks\.0\.attn\.qkv\.weight/),
  ckCase('a center of the wrong width', 'center', /dino_loss\.center is \[1,64\], not \[1, 128\]/),
  ckCase('student and teacher shapes differ', 'twin-shape', /teacher\.head\.mlp\.0\.bias is \[64\] but student\.head\.mlp\.0\.bias is \[63\]/),
  ckCase('no teacher backbone', 'no-teacher', /it holds no teacher backbone/),
  ckCase('no center', 'no-center', /it holds no dino_loss\.center/),
  { name: 'export of a backbone missing a tensor', args: () => ['export', '--out', ck('bb-missing'), '--to', join(base, 'new', 'm.safetensors')], expect: /the teacher backbone does not match a vit of the run's settings \(missing blocks\.1\.mlp\.fc2\.bias\)/, watch: () => [ck('bb-missing')] },
  { name: 'export of a backbone with an extra tensor', args: () => ['export', '--student', '--out', ck('bb-extra'), '--to', join(base, 'new', 'n.safetensors')], expect: /the student backbone does not match .*unexpected blocks\.9\.evil/, watch: () => [ck('bb-extra')], bin: true },
  { name: 'resume with an optimizer moment missing', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('no-moment')], expect: /checkpoint\.safetensors: its training state does not fit the run's networks \(AdamW\.loadState: "backbone\.norm\.weight\.exp_avg_sq" missing/, watch: () => [ck('no-moment')] },
  { name: 'resume past the run\'s end', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('iter-past')], expect: /the checkpoint is at iteration 999 \(epoch 249\), which does not fit its run of 2 epochs x 4 iterations/, watch: () => [ck('iter-past')] },
  { name: 'resume with an epoch that does not match the iteration', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('epoch-off')], expect: /the checkpoint is at iteration 2 \(epoch 1\), which does not fit/, watch: () => [ck('epoch-off')] },
  { name: 'resume with a foreign state format', args: () => ['train', '--resume', '--backend', 'wasm', '--no-report', '--out', ck('format')], expect: /its training state does not fit the run's networks \(Invalid state\.metadata\.format = "someone-else@9"/, watch: () => [ck('format')] },
  { name: 'a checkpoint that is a link loop', args: () => ['info', '--backend', 'wasm', '--out', ck('loop')], expect: /cannot read the checkpoint .*checkpoint\.safetensors: ELOOP/, watch: () => [ck('loop')] },
]);

// Data files: kinds, sizes derived from headers (decompression capped), links, splits.
const withData = (kind: string, dir: string, ...more: string[]) => train('--dataset', kind, '--data', dir, ...more);
add('data files', [
  { name: 'Fashion-MNIST folder missing', args: () => withData('fashion-mnist', data('nope'), ...out('d1')), expect: /Fashion-MNIST folder .*nope does not exist or is not a folder: `apt-get install dataset-fashion-mnist`/, bin: true },
  { name: 'a gzip IDX inflating far past its header', args: () => withData('fashion-mnist', data('fm-bomb'), ...out('d2')), expect: /train-images-idx3-ubyte\.gz inflates to more than the 47056 bytes its header \[60, 28, 28\] declares/, bin: true },
  { name: 'an IDX header declaring 100 GB', args: () => withData('fashion-mnist', data('fm-declared'), ...out('d3')), expect: /its header \[100000000, 28, 28\] declares 78400000016 bytes, more than the 2147483648/ },
  { name: 'a truncated gzip', args: () => withData('fashion-mnist', data('fm-truncgz'), ...out('d4')), expect: /train-images-idx3-ubyte\.gz is not a valid gzip file/ },
  { name: 'images and labels swapped', args: () => withData('fashion-mnist', data('fm-swapped'), ...out('d5')), expect: /has magic number 2049 \(a label file\), expected 2051/ },
  { name: 'a label out of range', args: () => withData('fashion-mnist', data('fm-label'), ...out('d6')), expect: /label 12 of item 3 is not a class index below 10/ },
  { name: 'an IDX file that is a named pipe', args: () => withData('fashion-mnist', data('fm-fifo'), ...out('d7')), expect: /train-images-idx3-ubyte\.gz is not a regular file \(a pipe or a device\)/, bin: true },
  { name: 'an IDX file that is a folder', args: () => withData('fashion-mnist', data('fm-dir'), ...out('d8')), expect: /train-images-idx3-ubyte\.gz is a folder, not the IDX file expected there/ },
  { name: 'an IDX file linked to /dev/zero', args: () => withData('fashion-mnist', data('fm-zero'), ...out('d9')), expect: /train-images-idx3-ubyte is not a regular file/ },
  { name: 'a raw IDX file with extra bytes', args: () => withData('fashion-mnist', data('fm-extra'), ...out('d10')), expect: /train-images-idx3-ubyte has 784 bytes beyond the/ },
  { name: 'a gzip IDX with extra bytes', args: () => withData('fashion-mnist', data('fm-extragz'), ...out('d11')), expect: /train-images-idx3-ubyte\.gz has 100 bytes beyond the 47040/ },
  { name: 'labels and images of different counts', args: () => withData('fashion-mnist', data('fm-count'), ...out('d12')), expect: /holds 50 labels but .* holds 60 images/ },
  { name: 'CIFAR without --data', args: () => train('--dataset', 'cifar10', ...out('d13')), expect: /--dataset cifar10 needs --data DIR/ },
  { name: 'a CIFAR batch of the wrong size', args: () => withData('cifar10', data('cifar-size'), ...out('d14')), expect: /data_batch_1\.bin has 3000 bytes, not a positive multiple of the 3073-byte record/ },
  { name: 'a CIFAR batch that is a named pipe', args: () => withData('cifar10', data('cifar-fifo'), ...out('d15')), expect: /data_batch_1\.bin is not a regular file/, bin: true },
  { name: 'CIFAR class names of the wrong count', args: () => withData('cifar10', data('cifar-meta'), ...out('d16')), expect: /batches\.meta\.txt lists 3 class names, expected 10/ },
  { name: 'an image folder that is a file', args: () => withData('folder', join(P.run, 'checkpoint.json'), ...out('d17')), expect: /image folder .*checkpoint\.json does not exist or is not a folder/ },
  { name: 'an empty image folder', args: () => withData('folder', data('img-empty'), ...out('d18')), expect: /image folder .*img-empty is empty/ },
  { name: 'an image folder without images', args: () => withData('folder', data('img-none'), ...out('d19')), expect: /holds no images with extensions/ },
  { name: 'an image folder of corrupt files', args: () => withData('folder', data('img-corrupt'), ...out('d20')), expect: /cannot decode .*broken\.png.*No image could be read/, bin: true },
  { name: 'an image folder that is only a link loop', args: () => withData('folder', data('img-loop'), ...out('d21')), expect: /image folder .*img-loop holds no images/ },
  { name: 'an image folder whose held-out images are all training images', args: () => withData('folder', data('img-copies'), ...out('d22')), expect: /every held-out image is also a training image/ },
  { name: 'a batch larger than the image folder', args: () => withData('folder', data('img-few'), ...out('d23')), expect: /--batch-size = 16: is larger than the training set \(\d+ images\)/ },
  { name: '--dataset folder without --data', args: () => train('--dataset', 'folder', ...out('d24')), expect: /--dataset folder needs --data DIR/ },
]);

// ---------------------------------------------------------------- setup

const watchedAlways = () => [P.run, P.other, P.locked];

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` first (the root \`pnpm test\` does).`);
  base = tempDir('dino-hostile-');
  for (const d of ['new', 'cfg', 'ck', 'data', 'links']) mkdirSync(join(base, d));
  P.run = join(base, 'run');
  const made = viaBinary(['train', ...TINY, '--max-iterations', '2', '--out', P.run]);
  if (made.code !== 0) throw new Error(`the shared run failed:\n${made.err}`);
  P.empty = join(base, 'empty');
  mkdirSync(P.empty);
  P.other = join(base, 'other');
  mkdirSync(P.other);
  for (const f of readdirSync(P.run)) copyFileSync(join(P.run, f), join(P.other, f));
  P.locked = join(base, 'locked');
  mkdirSync(P.locked);
  for (const f of readdirSync(P.run)) copyFileSync(join(P.run, f), join(P.locked, f));
  // A lock held by a live process on this host: this test's own.
  writeFileSync(join(P.locked, '.dino-train.lock'), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), command: 'dino train' }));

  // A read-only file system, where this machine lets the test mount one.
  mkdirSync(join(base, 'rofs'));
  rofsMounted = sh('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', join(base, 'rofs')]);
  if (!rofsMounted) console.warn('hostile.test: cannot mount a read-only tmpfs here (not root?); the read-only cases are skipped');

  // Config files.
  const c = (name: string, text: string) => writeFileSync(cfg(name), text);
  mkdirSync(cfg('folder.yaml'));
  sh('mkfifo', [cfg('fifo.yaml')]);
  symlinkSync('/dev/zero', cfg('zero.yaml'));
  c('huge.yaml', '#'.repeat(2 * 1024 * 1024));
  c('bad.yaml', 'epochs: [1, 2\n');
  c('bad.json', '{"epochs": 3,');
  c('list.yaml', '- epochs\n- 3\n');
  c('scalar.yaml', 'just text\n');
  c('null.json', 'null');
  c('unknown.json', JSON.stringify({ epochz: 3 }));
  c('proto.json', '{"__proto__": {"epochs": 5}}');
  c('text.yaml', 'epochs: ten\n');
  c('epochs.yaml', 'epochs: 1e12\n');
  c('scale.yaml', 'global-crops-scale: [0.9, 0.1]\n');
  c('scale1.yaml', 'local_crops_scale: [0.5]\n');
  c('warmup.yaml', 'warmup-epochs: 50\n');
  c('nan.yaml', 'lr: .nan\n');
  c('nul.json', JSON.stringify({ out: join(base, 'new', 'x\u0000y') }));
  c('snake.yaml', 'batch_size: 0\n');
  c('dup.yaml', 'epochs: 1\nepochs: 2\n');
  c('bomb.yaml', ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill('*' + 'abcdefgh'[i]).join(', ')}]`)].join('\n') + '\n');
  c('resume.yaml', 'resume: true\n');
  c('outdim.json', JSON.stringify({ 'out-dim': 2147483648 }));
  c('temp.yaml', 'teacher-temp: -1\n');
  c('arch.json', JSON.stringify({ arch: { name: 'vit' } }));
  c('report.yaml', 'report: "yes"\n');
  c('lr.yaml', 'lr: 0.1\n');

  // Output-path links.
  symlinkSync(join(P.run, 'checkpoint.safetensors'), join(base, 'links', 'ck.safetensors'));
  sh('mkfifo', [join(base, 'links', 'pipe')]);

  // Run directories.
  mkdirSync(ck('metrics-only'), { recursive: true });
  copyFileSync(join(P.run, 'metrics.jsonl'), join(ck('metrics-only'), 'metrics.jsonl'));
  runCopy('badlock');
  writeFileSync(join(ck('badlock'), '.dino-train.lock'), '{"pid": 12');

  runCopy('bad-metrics');
  const rows = readFileSync(join(P.run, 'metrics.jsonl'), 'utf8').split('\n');
  rows[0] = '{"type": "step", "iteration": oops}';
  writeFileSync(join(ck('bad-metrics'), 'metrics.jsonl'), rows.join('\n'));
  runCopy('dir-metrics');
  spawnSync('rm', ['-f', join(ck('dir-metrics'), 'metrics.jsonl')]);
  mkdirSync(join(ck('dir-metrics'), 'metrics.jsonl'));

  // Checkpoints.
  const dir = (name: string) => {
    mkdirSync(ck(name), { recursive: true });
    for (const f of ['checkpoint.json', 'metrics.jsonl']) copyFileSync(join(P.run, f), join(ck(name), f));
    return ck(name);
  };
  mkdirSync(join(dir('is-dir'), 'checkpoint.safetensors'));
  sh('mkfifo', [join(dir('fifo'), 'checkpoint.safetensors')]);
  symlinkSync('/dev/zero', join(dir('zero'), 'checkpoint.safetensors'));
  symlinkSync('checkpoint.safetensors', join(dir('loop'), 'checkpoint.safetensors'));
  runCopy('empty', Buffer.alloc(0));
  runCopy('short', Buffer.from([1, 2, 3, 4, 5]));
  runCopy('hugelen', (_, d) => {
    const b = Buffer.alloc(16 + d.length);
    b.writeBigUInt64LE(2n ** 60n);
    return b;
  });
  runCopy('pastlen', () => {
    const b = readFileSync(join(P.run, 'checkpoint.safetensors'));
    const cut = Buffer.from(b.subarray(0, 4096));
    cut.writeBigUInt64LE(BigInt(b.length));
    return cut;
  });
  runCopy('notjson', (_, d) => safetensorsBytes('{"a": [1, 2', d));
  runCopy('array', (_, d) => safetensorsBytes('[1, 2, 3]', d));
  editedHeader('null-entry', (h) => (h['teacher.backbone.cls_token'] = null));
  editedHeader('num-entry', (h) => (h['student.backbone.norm.bias'] = 7));
  editedHeader('dtype', (h) => (h['teacher.backbone.pos_embed'].dtype = 'F8'));
  editedHeader('dtype-size', (h) => (h['teacher.backbone.norm.weight'].dtype = 'I8'));
  editedHeader('reversed', (h) => {
    const [a, b] = h['teacher.backbone.norm.weight'].data_offsets;
    h['teacher.backbone.norm.weight'].data_offsets = [b, a];
  });
  editedHeader('negative', (h) => (h['teacher.backbone.norm.weight'].data_offsets = [-8, 0]));
  editedHeader('unaligned', (h) => {
    const [a, b] = h['teacher.backbone.norm.weight'].data_offsets;
    h['teacher.backbone.norm.weight'].data_offsets = [a + 2, b];
  });
  editedHeader('past-end', (h) => {
    const [a, b] = h['teacher.backbone.norm.weight'].data_offsets;
    h['teacher.backbone.norm.weight'].data_offsets = [a + 10_000_000, b + 10_000_000];
  });
  editedHeader('overlap', (h) => {
    const [a] = h['teacher.backbone.norm.weight'].data_offsets;
    const [, b2] = h['teacher.backbone.norm.bias'].data_offsets;
    const len = b2 - h['teacher.backbone.norm.bias'].data_offsets[0];
    h['teacher.backbone.norm.bias'].data_offsets = [a, a + len];
  });
  runCopy('duplicate', (h, d) => {
    const text = JSON.stringify(h);
    const entry = JSON.stringify(h['teacher.backbone.cls_token']);
    return safetensorsBytes(text.replace(/}$/, `,"teacher.backbone.cls_token":${entry}}`), d);
  });
  editedHeader('meta-num', (h) => (h.__metadata__.reason = 3));
  editedHeader('no-run', (h) => delete h.__metadata__.run);
  editedHeader('run-notjson', (h) => (h.__metadata__.run = '{"iteration": 2,'));
  editedRun('run-noiter', (r) => delete r.iteration);
  editedRun('run-negiter', (r) => (r.iteration = -4));
  editedRun('run-mean', (r) => (r.mean = [0.5, 0.5]));
  editedRun('run-std', (r) => (r.std = [0, 1, 1]));
  editedRun('run-noconfig', (r) => delete r.config);
  editedRun('run-trainsize', (r) => (r.config.trainSize = 1e9));
  editedRun('run-unknown', (r) => (r.config.evil = 1));
  editedRun('run-epochs', (r) => (r.config.epochs = 0));
  editedRun('run-warmup', (r) => (r.config.warmupEpochs = 9));
  editedHeader('no-twin', (h) => delete h['student.backbone.blocks.0.attn.qkv.weight']);
  editedHeader('center', (h) => (h['dino_loss.center'] = { ...h['dino_loss.center'], shape: [1, 64], data_offsets: [h['dino_loss.center'].data_offsets[0], h['dino_loss.center'].data_offsets[0] + 256] }));
  editedHeader('twin-shape', (h) => {
    const e = h['student.head.mlp.0.bias'];
    h['student.head.mlp.0.bias'] = { ...e, shape: [63], data_offsets: [e.data_offsets[0], e.data_offsets[0] + 252] };
  });
  editedHeader('no-teacher', (h) => {
    for (const k of Object.keys(h)) if (k.startsWith('teacher.backbone.')) delete h[k];
  });
  editedHeader('no-center', (h) => delete h['dino_loss.center']);
  editedHeader('bb-missing', (h) => {
    delete h['teacher.backbone.blocks.1.mlp.fc2.bias'];
    delete h['student.backbone.blocks.1.mlp.fc2.bias'];
  });
  editedHeader('bb-extra', (h) => {
    h['student.backbone.blocks.9.evil'] = h['student.backbone.norm.bias'];
    h['teacher.backbone.blocks.9.evil'] = h['teacher.backbone.norm.bias'];
    // The copies share bytes with the originals: give them their own (a gap-free tail would
    // need new data; an empty tensor occupies none).
    h['student.backbone.blocks.9.evil'] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
    h['teacher.backbone.blocks.9.evil'] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
  });
  editedHeader('no-moment', (h) => delete h['optimizer.backbone.norm.weight.exp_avg_sq']);
  editedRun('iter-past', (r) => {
    r.iteration = 999;
    r.epoch = 249;
  });
  editedRun('epoch-off', (r) => (r.epoch = 1));
  editedHeader('format', (h) => (h.__metadata__.format = 'someone-else@9'));

  // Data files.
  fmnist(data('fm-bomb'), Buffer.concat([goodImages(60), Buffer.alloc(64 * 1024 * 1024)]), goodLabels(60));
  fmnist(data('fm-declared'), idx(2051, [100_000_000, 28, 28], new Uint8Array(784)), goodLabels(60));
  fmnist(data('fm-truncgz'), goodImages(60), goodLabels(60));
  writeFileSync(join(data('fm-truncgz'), 'train-images-idx3-ubyte.gz'), gzipSync(goodImages(60)).subarray(0, 200));
  fmnist(data('fm-swapped'), goodLabels(60), goodImages(60));
  const badLabels = goodLabels(60);
  badLabels[8 + 3] = 12;
  fmnist(data('fm-label'), goodImages(60), badLabels);
  fmnist(data('fm-fifo'), goodImages(60), goodLabels(60), { test: true });
  // (replaced by a pipe below)
  fmnist(data('fm-dir'), goodImages(60), goodLabels(60));
  fmnist(data('fm-zero'), goodImages(60), goodLabels(60), { gz: false });
  fmnist(data('fm-extra'), Buffer.concat([goodImages(60), Buffer.alloc(784)]), goodLabels(60), { gz: false });
  fmnist(data('fm-extragz'), Buffer.concat([goodImages(60), Buffer.alloc(100)]), goodLabels(60));
  fmnist(data('fm-count'), goodImages(60), goodLabels(50));
  for (const [d, f] of [['fm-fifo', 'train-images-idx3-ubyte.gz'], ['fm-dir', 'train-images-idx3-ubyte.gz'], ['fm-zero', 'train-images-idx3-ubyte']]) {
    const p = join(data(d), f);
    spawnSync('rm', ['-f', p]);
    if (d === 'fm-fifo') sh('mkfifo', [p]);
    else if (d === 'fm-dir') mkdirSync(p);
    else symlinkSync('/dev/zero', p);
  }
  const cifar = (name: string) => {
    const d = data(name);
    mkdirSync(d);
    const rec = Buffer.alloc(3073 * 20);
    for (let k = 1; k <= 5; k++) writeFileSync(join(d, `data_batch_${k}.bin`), rec);
    writeFileSync(join(d, 'test_batch.bin'), rec);
    writeFileSync(join(d, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
    return d;
  };
  writeFileSync(join(cifar('cifar-size'), 'data_batch_1.bin'), Buffer.alloc(3000));
  const fifo = join(cifar('cifar-fifo'), 'data_batch_1.bin');
  spawnSync('rm', ['-f', fifo]);
  sh('mkfifo', [fifo]);
  writeFileSync(join(cifar('cifar-meta'), 'batches.meta.txt'), 'a\nb\nc\n');
  mkdirSync(data('img-empty'));
  mkdirSync(data('img-none'));
  writeFileSync(join(data('img-none'), 'notes.txt'), 'no images here');
  mkdirSync(data('img-corrupt'));
  writeFileSync(join(data('img-corrupt'), 'broken.png'), 'not a PNG');
  mkdirSync(data('img-loop'));
  symlinkSync('.', join(data('img-loop'), 'again'));
  mkdirSync(data('img-copies'));
  await png(join(data('img-copies'), 'a.png'), 90);
  copyFileSync(join(data('img-copies'), 'a.png'), join(data('img-copies'), 'b.png'));
  mkdirSync(data('img-few'));
  for (let i = 0; i < 5; i++) await png(join(data('img-few'), `${i}.png`), 20 * i);
}, 120_000);

afterAll(() => {
  if (rofsMounted) sh('umount', [join(base, 'rofs')]);
});

describe('hostile input: exit code 2, one line naming the problem, no stack, no run file changed', () => {
  const started = Date.now();
  const ran: Record<string, number> = {};
  afterAll(() => {
    const total = Object.values(ran).reduce((a, b) => a + b, 0);
    console.log(`hostile.test: ${total} cases in ${((Date.now() - started) / 1000).toFixed(1)} s: ${Object.entries(ran).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  });

  it('has at least 100 cases, across every category', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
    expect(new Set(CASES.map((c) => `${c.category}: ${c.name}`)).size).toBe(CASES.length);
    for (const cat of ['flags', 'config files', 'run directories', 'output paths', 'checkpoints', 'data files']) {
      expect(CASES.filter((c) => c.category === cat).length, cat).toBeGreaterThanOrEqual(8);
    }
  });

  it.each(CASES.map((c) => [`${c.category}: ${c.name}${c.bin ? ' (binary)' : ''}`, c] as const))('%s', async (_, c) => {
    if (c.rofs && !rofsMounted) return;
    c.prepare?.();
    const watched = [...watchedAlways(), ...(c.watch?.() ?? [])];
    const before = watched.map(snapshot);
    const args = c.args();
    const r = c.bin ? viaBinary(args) : await inProcess(args);
    const shown = `dino ${args.join(' ')}\n${r.err}`;
    expect(r.code, shown).toBe(2);
    const lines = r.err.split('\n').filter((l) => l.startsWith('Error'));
    expect(lines, shown).toHaveLength(1);
    expect(lines[0], shown).toMatch(/^Error: /);
    expect(lines[0], shown).toMatch(c.expect);
    expect(r.err, shown).not.toMatch(/\n\s+at /);
    expect(r.err, shown).not.toMatch(/TypeError|RangeError|SyntaxError|ReferenceError/);
    expect(watched.map(snapshot), shown).toEqual(before);
    ran[c.category] = (ran[c.category] ?? 0) + 1;
    // DINO_HOSTILE_SHOW=1 lists every case with the line it got, to read them all at once.
    if (process.env.DINO_HOSTILE_SHOW === '1') console.log(`[${c.category}] ${c.name}\n    ${lines[0]}`);
  });
});
