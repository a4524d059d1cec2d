/**
 * `dino train --resume-from`: a checkpoint written by main_dino.py's own code
 * (packages/weights/fixtures/resume, scripts/fixtures/make_resume.py) continued by the built CLI.
 * The values of the resumed state against the reference's loop are checked in
 * packages/weights/src/reference-checkpoint.test.ts; here, the command as a user runs it.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '@dino-ts/core/testing';

const BIN = resolve(__dirname, '../dist/bin.js');
const CKPT = resolve(__dirname, '../../../packages/weights/fixtures/resume/checkpoint.pth');
const PUBLISHED = resolve(__dirname, '../../../packages/weights/fixtures/vit.pth');
const SMALL = ['--train-size', '12', '--test-size', '8', '--knn-k', '4', '--backend', 'wasm', '--no-report', '--eval-every', '0'];

function dino(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, err: r.stderr };
}

describe('dino train --resume-from (a main_dino.py checkpoint)', () => {
  it("continues the reference's run at its epoch, with its networks and settings", () => {
    const out = tempDir('dino-resume-from-');
    const r = dino(['train', '--resume-from', CKPT, '--num-heads', '2', '--max-iterations', '6', ...SMALL, '--out', out]);
    expect(r.code, r.err).toBe(0);
    // 12 images at the reference's batch 3: 4 iterations an epoch; the checkpoint ended epoch 0.
    expect(r.err).toMatch(/at epoch 1 \(iteration 4\)/);
    expect(r.err).toMatch(/vit \(32 wide, 2 blocks, 2 heads, patch 4\), head K 64/);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const steps = rows.filter((row) => row.type !== 'knn');
    expect(steps.map((row) => row.iteration)).toEqual([4, 5]);
    for (const row of steps) expect(Number.isFinite(row.loss)).toBe(true);
    // The reference's settings came along: batch 3 and its 2 local crops (4 crops in all).
    expect(r.err).toMatch(/batch 3, 4 crops, K 64/);
  });

  it('refuses, in one line, what it cannot continue', () => {
    const cases: [string[], RegExp][] = [
      [['--resume-from', CKPT], /number of attention heads.*--num-heads/],
      [['--resume-from', PUBLISHED], /not a training checkpoint of main_dino\.py/],
      [['--resume-from', '/no/such/checkpoint.pth'], /--resume-from .* does not exist/],
      [['--resume-from', CKPT, '--num-heads', '2', '--epochs', '1'], /--epochs = 1: must be more than the checkpoint's 1 completed epochs/],
      [['--resume-from', CKPT, '--num-heads', '2', '--resume'], /--resume and --resume-from contradict/],
    ];
    for (const [args, message] of cases) {
      const r = dino(['train', ...args, ...SMALL, '--out', tempDir('dino-resume-from-bad-')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.split('\n').filter((l) => l.startsWith('Error')), r.err).toHaveLength(1);
      expect(r.err, args.join(' ')).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });
});
