/**
 * The `dino` command as a user runs it: the built CLI in a child process (so exit codes,
 * signals and files are real). Needs `pnpm build` first (the root `pnpm test` builds).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tempDir } from '@dino-ts/core/testing';
import { join, resolve } from 'node:path';
import { decodeSafetensors } from '@dino-ts/core';

const BIN = resolve(__dirname, '../dist/bin.js');
// A tiny run: 64 images of 16 px, batch 16, 4 iterations per epoch, 2 epochs.
const TINY = ['--preset', 'smoke', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--backend', 'wasm', '--no-report', '--eval-every', '0'];

function dino(args: string[], opts: { env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(): string {
  return tempDir('dino-cli-');
}

function tensorsOf(dir: string) {
  return decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors')))).tensors;
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm build\` first (the root \`pnpm test\` does).`);
});

describe('dino CLI: version', () => {
  it('prints the package version for --version, -V and info --version', () => {
    const { version } = JSON.parse(readFileSync(resolve(__dirname, '../package.json'), 'utf8'));
    for (const args of [['--version'], ['-V'], ['info', '--version']]) {
      const r = dino(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out.trim()).toBe(version);
    }
  });
});

describe('dino CLI: bad input', () => {
  it('rejects an unknown flag with a clear message and exit code 2', () => {
    const r = dino(['train', '--bogus-flag', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--bogus-flag'/);
  });
  it('rejects out-of-range values naming the flag', () => {
    const r = dino(['train', ...TINY, '--teacher-temp', '-1', '--out', tmp()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--teacher-temp = -1/);
    const r2 = dino(['train', '--batch-size', 'many']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/--batch-size needs a number, got "many"/);
  });
  it('rejects a missing or malformed config file', () => {
    const dir = tmp();
    const r = dino(['train', '--config', join(dir, 'nope.yaml'), '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/nope\.yaml does not exist/);
    writeFileSync(join(dir, 'bad.yaml'), 'epochs: [1, 2\n');
    const r2 = dino(['train', '--config', join(dir, 'bad.yaml'), '--out', dir]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/bad\.yaml is not valid YAML/);
    writeFileSync(join(dir, 'unknown.json'), JSON.stringify({ epochz: 3 }));
    const r3 = dino(['train', '--config', join(dir, 'unknown.json'), '--out', dir]);
    expect(r3.code).toBe(2);
    expect(r3.err).toMatch(/unknown setting\(s\): --epochz/);
  });
  it('says how to get a missing data set, and overwrites no checkpoint', () => {
    const dir = tmp();
    const first = dino(['train', ...TINY, '--max-iterations', '1', '--out', dir]);
    expect(first.code).toBe(0);
    const before = readFileSync(join(dir, 'checkpoint.safetensors'));
    const r = dino(['train', '--preset', 'fashion-mnist', '--data', join(dir, 'no-such-dir'), '--backend', 'wasm', '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no-such-dir/);
    expect(r.err).toMatch(/apt-get install dataset-fashion-mnist|--data/);
    expect(readFileSync(join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
    const r2 = dino(['train', '--dataset', 'cifar10', '--out', dir]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/needs --data DIR/);
    expect(readFileSync(join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);
  });
  it('a time limit stops after the step that passes it, saying the rate and how to continue', () => {
    const dir = tmp();
    const r = dino(['train', ...TINY, '--time-limit', '0.0001', '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const line = `${r.out}${r.err}`.split('\n').find((l) => l.startsWith('Stopped at iteration'));
    expect(line).toMatch(/^Stopped at iteration 1 \(time limit\) after \d+\.\d min of training \(\d+\.\d img\/s\); checkpoint saved in .*Continue with: dino train --resume --out /);
    expect(JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).iteration).toBe(1);
  });

  it('asks for an unavailable backend with the install command', () => {
    const r = dino(['train', ...TINY.filter((a) => a !== 'wasm' && a !== '--backend'), '--backend', 'tensorflow', '--out', tmp()]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Backend "tensorflow" is not available: .*tfjs-node/);
  });
});

describe('dino CLI: training that never loses work', () => {
  it('stops on a non-finite loss, keeping the last good checkpoint', () => {
    const dir = tmp();
    // An absurd learning rate blows the weights up after the first update.
    const r = dino(['train', ...TINY, '--lr', '1e30', '--warmup-epochs', '0', '--clip-grad', '0', '--save-every', '1', '--out', dir]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/DINO loss is (NaN|Infinity|-Infinity) at iteration \d+/);
    expect(r.err).toMatch(/last good checkpoint is kept/);
    const run = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
    const failedAt = Number(/at iteration (\d+)/.exec(r.err)![1]);
    expect(run.iteration).toBe(failedAt);
    // The kept weights are finite.
    for (const t of Object.values(tensorsOf(dir))) {
      if (t.dtype === 'F32') expect((t.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
  });

  it('a run killed with SIGKILL and resumed ends with the same parameters as an uninterrupted run', async () => {
    const a = tmp(), b = tmp();
    const full = dino(['train', ...TINY, '--save-every', '1', '--out', a]);
    expect(full.code).toBe(0);
    expect(full.err).toMatch(/crops made in the worker thread/);
    // Start the same run, kill it hard once it has saved iteration 3 (mid-way through 8).
    const child = spawn(process.execPath, [BIN, 'train', ...TINY, '--save-every', '1', '--out', b], { stdio: 'ignore' });
    const ckpt = join(b, 'checkpoint.json');
    await new Promise<void>((done, fail) => {
      const timer = setInterval(() => {
        try {
          if (existsSync(ckpt) && JSON.parse(readFileSync(ckpt, 'utf8')).iteration >= 3) {
            clearInterval(timer);
            child.kill('SIGKILL');
            done();
          }
        } catch {
          /* the JSON is replaced atomically; a read can race only with its rename */
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        fail(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((r) => child.on('exit', r));
    const killedAt = JSON.parse(readFileSync(ckpt, 'utf8')).iteration;
    expect(killedAt).toBeGreaterThanOrEqual(3);
    expect(killedAt).toBeLessThan(8);
    expect(statSync(join(b, 'checkpoint.safetensors')).size).toBeGreaterThan(0);
    const resumed = dino(['train', '--resume', '--backend', 'wasm', '--no-report', '--out', b]);
    expect(resumed.code).toBe(0);
    expect(resumed.err).toMatch(new RegExp(`Resuming .* at iteration ${killedAt}`));
    const ta = tensorsOf(a), tb = tensorsOf(b);
    expect(Object.keys(tb).sort()).toEqual(Object.keys(ta).sort());
    for (const k of Object.keys(ta)) {
      expect(Buffer.from(tb[k].data.buffer).equals(Buffer.from(ta[k].data.buffer)), k).toBe(true);
    }
    // The metrics history has every iteration exactly once.
    const its = readFileSync(join(b, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.type === 'step').map((r) => r.iteration);
    expect(its).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Crops made in the main thread instead of the worker: the very same run.
    const c = tmp();
    const inline = dino(['train', ...TINY, '--out', c], { env: { DINO_AUGMENT_WORKER: '0' } });
    expect(inline.code).toBe(0);
    expect(inline.err).toMatch(/crops made in the main thread/);
    const tc = tensorsOf(c);
    for (const k of Object.keys(ta)) {
      expect(Buffer.from(tc[k].data.buffer).equals(Buffer.from(ta[k].data.buffer)), k).toBe(true);
    }
  });
});

describe('dino CLI: the other commands', () => {
  it('info, export, embed and eval knn work on a run directory', () => {
    const dir = tmp();
    expect(dino(['train', ...TINY, '--max-iterations', '2', '--out', dir]).code).toBe(0);
    const info = dino(['info', '--out', dir, '--backend', 'wasm']);
    expect(info.code).toBe(0);
    expect(info.out).toMatch(/backend: wasm/);
    expect(info.out).toMatch(/M backbone parameters/);
    const exp = dino(['export', '--out', dir, '--to', join(dir, 'teacher.safetensors')]);
    expect(exp.code).toBe(0);
    const exported = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'teacher.safetensors')))).tensors;
    expect(Object.keys(exported)).toContain('blocks.0.attn.qkv.weight');
    expect(Object.keys(exported)).toContain('pos_embed');
    const emb = dino(['embed', '--out', dir, '--to', join(dir, 'emb.safetensors'), '--backend', 'wasm']);
    expect(emb.code).toBe(0);
    const f = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'emb.safetensors')))).tensors;
    expect(f.features.shape).toEqual([32, 32]);
    const knn = dino(['eval', 'knn', '--out', dir, '--backend', 'wasm']);
    expect(knn.code).toBe(0);
    expect(knn.out).toMatch(/k=20: top-1 \d+\.\d+%/);
    // --bank: a smaller memory bank is used as asked; a bad value is refused by name.
    const small = dino(['eval', 'knn', '--out', dir, '--backend', 'wasm', '--bank', '16']);
    expect(small.code).toBe(0);
    expect(small.out).toMatch(/16 train, 32 test/);
    const bad = dino(['eval', 'knn', '--out', dir, '--bank', '-3']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--bank needs a whole number of images \(0: all\), got "-3"/);
    const help = dino(['train', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--teacher-temp <n>[\s\S]*?\(default: 0\.04\)/);
    expect(help.out).toMatch(/--momentum-teacher <n>/);
  });
});

describe('dino CLI: a convnet backbone', () => {
  it('trains resnet18, keeps its BatchNorm statistics, reports without attention, and evaluates from the checkpoint', () => {
    const dir = tmp();
    const r = dino(['train', ...TINY.filter((a) => a !== '--no-report'), '--arch', 'resnet18', '--resnet-width', '4', '--max-iterations', '2', '--out', dir]);
    expect(r.code).toBe(0);
    const t = tensorsOf(dir);
    // Reference state-dict names, running statistics of student and teacher included.
    for (const who of ['student', 'teacher']) {
      expect(Object.keys(t)).toContain(`${who}.backbone.conv1.weight`);
      expect(Object.keys(t)).toContain(`${who}.backbone.bn1.running_mean`);
    }
    // The teacher's BatchNorm ran in train mode (as the reference's): its statistics moved.
    expect(Array.from(t['teacher.backbone.bn1.running_mean'].data as Float32Array).some((v) => v !== 0)).toBe(true);
    const evaluation = JSON.parse(readFileSync(join(dir, 'evaluation.json'), 'utf8')) as { comparison: { measure: string }[] };
    const measures = evaluation.comparison.map((row) => row.measure);
    expect(measures.some((m) => m.startsWith('k-NN'))).toBe(true);
    expect(measures.some((m) => m.startsWith('video segmentation'))).toBe(true);
    expect(measures.some((m) => m.includes('Jaccard'))).toBe(false);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/resnet18 is a convnet, so this run has no attention maps/);
    expect(existsSync(join(dir, 'attention.png'))).toBe(false);
    const knn = dino(['eval', 'knn', '--out', dir, '--backend', 'wasm']);
    expect(knn.code).toBe(0);
    expect(knn.out).toMatch(/k=20: top-1 \d+\.\d+%/);
    const att = dino(['eval', 'attention', '--out', dir, '--backend', 'wasm']);
    expect(att.code).not.toBe(0);
    expect(att.err).toMatch(/has no self-attention: attention maps and their masks need a ViT backbone/);
  });
});

describe('dino CLI: user errors are one line, exit code 2', () => {
  it('a folder without a checkpoint, for info, eval, export and --resume', () => {
    const dir = tmp();
    for (const args of [['info', '--out', dir], ['eval', 'knn', '--out', dir, '--backend', 'wasm'], ['export', '--out', dir, '--to', join(dir, 'x.safetensors')], ['train', ...TINY, '--resume', '--out', dir]]) {
      const r = dino(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n').filter((l) => l.startsWith('Error')).length, r.err).toBe(1);
      expect(r.err).toMatch(/holds no checkpoint/);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
  it('DINO_DEBUG=1 shows the stack of a user error', () => {
    const r = dino(['info', '--out', tmp()], { env: { DINO_DEBUG: '1' } });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\n\s+at /);
  });
});
