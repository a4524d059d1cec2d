/**
 * The 3-step check against the reference training loop (fixtures/vit_steps.safetensors), shared
 * by the test on each backend and the test with dino-ts's wasm kernels on one and two threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { readFixture, fx, assertClose, assertRelClose } from '@dino-ts/core/testing';
import type { DinoTrainer } from '../trainer';
import { fixtureCrops as crops, loadFixtureInit as loadInit, referenceFixtureTrainer, referenceTrainSettings } from '../testing';

const fixtureUrl = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url);
export const gradsFx = readFixture(fixtureUrl('vit_grads.safetensors'));
export const stepsFx = readFixture(fixtureUrl('vit_steps.safetensors'));

/**
 * Three steps of the fixture's run, each value checked against the reference's; returns the
 * trainer (the caller disposes it) for further comparisons.
 */
export async function threeReferenceSteps(): Promise<DinoTrainer> {
    const { tensors, metadata } = stepsFx;
    const t = JSON.parse(metadata.train);
    const trainer = referenceFixtureTrainer(metadata, referenceTrainSettings(t));
    assertClose(trainer.lrSchedule, JSON.parse(metadata.lr_schedule), 1e-15, 'lr schedule');
    assertClose(trainer.wdSchedule, JSON.parse(metadata.wd_schedule), 1e-15, 'wd schedule');
    assertClose(trainer.momentumSchedule, JSON.parse(metadata.momentum_schedule), 1e-15, 'momentum schedule');
    loadInit(trainer, tensors);
    const ncrops = 2 + Number(metadata.local_crops);
    for (let it = 0; it < 3; it++) {
      const x = crops(tensors, `step${it}.`, ncrops);
      const m = await trainer.step(x, it);
      expect(m.epoch).toBe(Math.floor(it / t.niter_per_ep));
      expect(Math.abs(m.loss - fx(tensors, `step${it}.loss`)[0]) / fx(tensors, `step${it}.loss`)[0]).toBeLessThan(1e-4);
      tf.dispose(x);
    }
    // The key bias (qkv.bias[D:2D]) gets an exactly zero gradient (it adds the same q.b_k to
    // every logit of a softmax row), so both implementations hold rounding noise there (~1e-10
    // in the reference) that AdamW normalises into steps of about +-lr. Those elements are
    // checked against that bound; every other element against 1e-4.
    const embedDim = JSON.parse(metadata.vit).embed_dim;
    const lrSum = trainer.lrSchedule.slice(0, 3).reduce((a, b) => a + b, 0);
    const isKeyBias = (name: string, i: number) => /attn\.qkv\.bias$/.test(name) && i >= embedDim && i < 2 * embedDim;
    let worstS = 0, worstT = 0;
    for (const [prefix, params] of [['student.', trainer.student.params()], ['teacher.', trainer.teacher.params()]] as const) {
      for (const [name, v] of params) {
        const actual = v.dataSync();
        const expected = fx(tensors, `${prefix}${name}`);
        const init = fx(tensors, `init.${name}`);
        const keep = (_: number, i: number) => !isKeyBias(name, i);
        const r = assertClose(actual.filter(keep), expected.filter(keep), 1e-4, `${prefix}${name}`);
        const noise = Float32Array.from(actual.filter((_, i) => !keep(0, i)));
        assertClose(noise, expected.filter((_, i) => !keep(0, i)), 2 * lrSum, `${prefix}${name} (key bias)`);
        // The updates themselves, relative: max abs 1e-4 alone would not see a small wrong step.
        const delta = Float32Array.from(actual, (x, i) => x - init[i]).filter(keep);
        const refDelta = Float32Array.from(expected, (x, i) => x - init[i]).filter(keep);
        if (Math.hypot(...refDelta) > 0) assertRelClose(delta, refDelta, 2e-2, `${prefix}${name} update`);
        else expect(Math.max(...delta.map(Math.abs)), `${prefix}${name} unchanged`).toBe(0);
        if (prefix === 'student.') worstS = Math.max(worstS, r.maxAbs);
        else worstT = Math.max(worstT, r.maxAbs);
      }
    }
    assertClose(trainer.dinoLoss.center.dataSync(), fx(tensors, 'center'), 1e-5, 'center');
    console.log(`[${tf.getBackend()}] after 3 steps: max abs error student ${worstS.toExponential(2)}, teacher ${worstT.toExponential(2)}`);
    return trainer;
}
