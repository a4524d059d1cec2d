import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { describeBackends, fx, assertClose, assertRelClose } from '@dino-ts/core/testing';
import { DinoTrainer } from './trainer';
import { fixtureCrops as crops, loadFixtureInit as loadInit, referenceFixtureTrainer } from './testing';
import type { BackwardMode } from './config';
import { gradsFx, threeReferenceSteps } from './test/reference-steps';

describeBackends('DinoTrainer vs the reference training loop (tiny ViT)', () => {
  // ('perView' over the whole batch is what the 3-step test below runs.)
  const modes: Array<{ backward: BackwardMode; microBatch: number }> = [
    { backward: 'perView', microBatch: 2 }, // batch 3: row slices of 2 and 1
    { backward: 'perGroup', microBatch: 1 },
    { backward: 'joint', microBatch: 0 },
  ];
  for (const { backward, microBatch } of modes) {
    it(`gradient of the DINO loss w.r.t. every student parameter (${backward}, microBatch ${microBatch})`, async () => {
      const { tensors, metadata } = gradsFx;
      const loss = JSON.parse(metadata.loss);
      const trainer = referenceFixtureTrainer(metadata, {
        backward, microBatch, loss: { warmupTeacherTemp: loss.warmup_teacher_temp, teacherTemp: loss.teacher_temp }, optim: { warmupEpochs: 0 },
      });
      loadInit(trainer, tensors);
      trainer.dinoLoss.center.assign(tf.tensor2d(fx(tensors, 'center'), [1, loss.out_dim]));
      const x = crops(tensors, '', 2 + Number(metadata.local_crops));
      const { loss: value, grads } = await trainer.computeGradients(x, 0);
      assertClose([value], fx(tensors, 'loss'), 1e-5, 'loss');
      const expected = Object.keys(tensors).filter((k) => k.startsWith('grad.')).map((k) => k.slice(5));
      expect([...grads.keys()].sort()).toEqual(expected.sort());
      let worst = 0;
      for (const name of expected) {
        worst = Math.max(worst, assertRelClose(grads.get(name)!.dataSync(), fx(tensors, `grad.${name}`), 1e-3, `grad ${name}`));
      }
      console.log(`[${tf.getBackend()}] ${backward}, microBatch ${microBatch}: max relative gradient error ${worst.toExponential(2)}`);
      for (const g of grads.values()) g.dispose();
      trainer.dispose();
    });
  }

  it('3 training steps: student, teacher, center and losses', async () => {
    (await threeReferenceSteps()).dispose();
  });
});
