// Scale-out both ways, against the reference's own training loop (scripts/fixtures/make_resume.py):
// - a checkpoint.pth written by main_dino.py's code after 2 of 4 iterations, resumed in dino-ts,
//   continues with the reference's losses and ends with its student, teacher and center;
// - dino-ts's state written back as checkpoint.pth holds the same values, and (where python3-torch
//   and DINO_REF are present) the reference's restart_from_checkpoint resumes it with the same losses.
import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramGroups } from '@dino-ts/dino';
import { referenceFixtureTrainer, referenceTrainSettings } from '@dino-ts/dino/testing';
import { assertClose, describeBackends, fx, readFixture, tempDir } from '@dino-ts/core/testing';
import { readReferenceCheckpoint, writeReferenceCheckpoint } from './reference-checkpoint';
import { readPth } from './pth';
import { isNamedArray, type PickleDict } from './values';

const dir = fileURLToPath(new URL('../fixtures/resume/', import.meta.url));
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../../scripts/fixtures/make_resume.py', import.meta.url));

/** The fixture's trainer: make_dino.py's tiny ViT and head, make_resume.py's schedules. */
const fixtureTrainer = (meta: Record<string, string>) => referenceFixtureTrainer(meta, referenceTrainSettings(JSON.parse(meta.train)));

function crops(tensors: Record<string, ReturnType<typeof readFixture>['tensors'][string]>, it: number, n: number): tf.Tensor4D[] {
  return Array.from({ length: n }, (_, i) => {
    const a = tensors[`step${it}.crop${i}`];
    return tf.tensor4d(fx(tensors, `step${it}.crop${i}`), a.shape as [number, number, number, number]);
  });
}

function torchMissing(): string | undefined {
  const ref = process.env.DINO_REF;
  if (!ref || !existsSync(join(ref, 'main_dino.py'))) return 'DINO_REF is not set to a facebookresearch/dino checkout';
  return spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0 ? undefined : 'python3-torch is not installed';
}
const missing = torchMissing();
if (missing) console.log(`reference-checkpoint.test.ts: the reference-side resume is skipped (${missing}); the rest runs from the committed fixtures`);

describeBackends('reference training checkpoints', () => {
  it("resumes main_dino.py's checkpoint.pth and continues with the reference's losses", async () => {
    const { tensors, metadata } = readFixture(join(dir, 'resume.safetensors'));
    const trainer = fixtureTrainer(metadata);
    const groups = paramGroups(trainer.student.params());
    const ckpt = readReferenceCheckpoint(new Uint8Array(readFileSync(join(dir, 'checkpoint.pth'))), groups, 'checkpoint.pth');
    expect(ckpt.epoch).toBe(1);
    expect(ckpt.args?.arch).toBe('vit_tiny');
    trainer.loadState({ tensors: ckpt.tensors, metadata: {} });
    const losses: number[] = JSON.parse(metadata.losses);
    const start = Number(metadata.save_after);
    const ncrops = 2 + Number(metadata.local_crops);
    for (let it = start; it < Number(metadata.iters); it++) {
      const x = crops(tensors, it, ncrops);
      const m = await trainer.step(x, it);
      tf.dispose(x);
      expect(Math.abs(m.loss - losses[it]), `loss at iteration ${it}: ${m.loss} vs ${losses[it]}`).toBeLessThan(1e-4);
    }
    const state = (await trainer.getState()).tensors;
    for (const [k, v] of Object.entries(tensors)) {
      if (k.startsWith('student.') || k.startsWith('teacher.')) assertClose(state[k].data as Float32Array, v.data as Float32Array, 2e-5, k);
    }
    assertClose(state['dino_loss.center'].data as Float32Array, fx(tensors, 'center'), 1e-5, 'center');
    trainer.dispose();
  });

  it('writes the state back as a checkpoint.pth holding the same values, which the reference resumes', async () => {
    const { metadata } = readFixture(join(dir, 'resume.safetensors'));
    const original = new Uint8Array(readFileSync(join(dir, 'checkpoint.pth')));
    const trainer = fixtureTrainer(metadata);
    const groups = paramGroups(trainer.student.params());
    trainer.loadState({ tensors: readReferenceCheckpoint(original, groups).tensors, metadata: {} });
    const bytes = writeReferenceCheckpoint((await trainer.getState()).tensors, groups, { epoch: 1, lr: 0.001, weightDecay: 0.04 });
    trainer.dispose();

    // Entry by entry against the reference's file: same names, shapes and values.
    const a = readPth(original).value as PickleDict;
    const b = readPth(bytes).value as PickleDict;
    for (const who of ['student', 'teacher']) {
      const ra = a.get(who) as PickleDict;
      const rb = b.get(who) as PickleDict;
      expect([...rb.keys()].sort()).toEqual([...ra.keys()].sort());
      for (const [k, v] of ra) {
        const w = rb.get(k)!;
        if (!isNamedArray(v) || !isNamedArray(w)) throw new Error(`${who}.${String(k)} is not a tensor`);
        expect(w.shape, `${who}.${String(k)}`).toEqual(v.shape);
        assertClose(Float32Array.from(w.data as ArrayLike<number>), Float32Array.from(v.data as ArrayLike<number>), 0, `${who}.${String(k)}`);
      }
    }
    const stateA = (a.get('optimizer') as PickleDict).get('state') as PickleDict;
    const stateB = (b.get('optimizer') as PickleDict).get('state') as PickleDict;
    expect([...stateB.keys()].map(Number).sort((x, y) => x - y)).toEqual([...stateA.keys()].map(Number).sort((x, y) => x - y));
    for (const [id, entry] of stateA) {
      for (const m of ['exp_avg', 'exp_avg_sq', 'step']) {
        const va = (entry as PickleDict).get(m);
        const vb = (stateB.get(Number(id)) as PickleDict).get(m);
        if (!isNamedArray(va) || !isNamedArray(vb)) throw new Error(`optimizer.state[${String(id)}].${m} is not a tensor`);
        assertClose(vb.data as Float32Array, va.data as Float32Array, 0, `optimizer.state[${String(id)}].${m}`);
      }
    }

    if (missing) return;
    const out = tempDir('dino-ts-resume-');
    const file = join(out, 'checkpoint.pth');
    writeFileSync(file, bytes);
    const r = spawnSync(PYTHON, [SCRIPT, '--resume', file], { encoding: 'utf8', env: process.env, timeout: 120_000 });
    rmSync(out, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const resumed = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const losses: number[] = JSON.parse(metadata.losses);
    expect(resumed.start).toBe(Number(metadata.save_after));
    resumed.losses.forEach((l: number, i: number) => expect(Math.abs(l - losses[resumed.start + i])).toBeLessThan(1e-4));
    console.log(`the reference resumed dino-ts's checkpoint.pth: losses ${resumed.losses.join(', ')} (uninterrupted: ${losses.slice(resumed.start).join(', ')})`);
  });
});
