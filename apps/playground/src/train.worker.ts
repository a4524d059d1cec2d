/**
 * The training worker: DINO on the embedded shapes (the `dino train --preset shapes` method at a
 * size a page trains in minutes), one step at a time, streaming each step's loss and teacher
 * entropy and, every few steps, the teacher's k-NN accuracy on held-out shapes. Between steps it
 * yields to its event loop, so a stop request is seen within one step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { encodeSafetensors, paramsToArrays } from '@dino-ts/core';
import { evaluateKnn, fromIndexedDataset } from '@dino-ts/eval';
import { initBackend } from './backend';
import type { Checkpoint, TrainApi, TrainArgs, TrainEvents } from './protocol';
import { serve, type Handlers } from './rpc';
import { shapesDataset } from './shapes';
import { setupTraining, stepCrops, vitOptions, type TrainingSetup } from './train-setup';

interface Run {
  setup: TrainingSetup;
  args: TrainArgs;
  step: number;
}

let run: Run | null = null;
let running = false;
let stopRequested = false;

const now = () => performance.now();
/** A macrotask turn: lets queued messages (stop) in between two steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function knnMonitor(r: Run): Promise<number> {
  const { args, setup } = r;
  const norm = { mean: setup.mean, std: setup.std };
  const bank = shapesDataset(args.shapes, args.imgSize, 'train', args.monitorBank);
  const test = shapesDataset(args.shapes, args.imgSize, 'test', args.monitorTest);
  const report = await evaluateKnn(setup.trainer.teacher.backbone, fromIndexedDataset(bank, norm), fromIndexedDataset(test, norm), {
    k: [Math.min(20, args.monitorBank)], T: 0.07, numClasses: bank.numClasses, batchSize: 64,
  });
  return report.results[0].top1;
}

let emit: ReturnType<typeof serve<TrainApi, TrainEvents>>['emit'];

const handlers: Handlers<TrainApi> = {
  init: (args) => initBackend(args),

  async train(args, ctx) {
    if (running) throw new Error('a run is already going');
    running = true;
    stopRequested = false;
    const started = now();
    try {
      run?.setup.trainer.dispose();
      run = null;
      ctx.progress(0, args.steps, 'setting up');
      const setup = await setupTraining(args);
      const r: Run = { setup, args, step: 0 };
      run = r;
      if (args.monitorEvery > 0) {
        const t = now();
        emit('monitor', { step: 0, top1: await knnMonitor(r), ms: now() - t });
      }
      for await (const batch of setup.loader.iterate({ endEpoch: setup.epochs })) {
        await yieldToEvents();
        if (stopRequested || r.step >= args.steps) break;
        const t = now();
        const crops = stepCrops(setup, batch, args.seed, r.step);
        let m;
        try {
          m = await setup.trainer.step(crops, r.step);
        } finally {
          tf.dispose(crops);
        }
        r.step++;
        emit('step', { step: r.step, loss: m.loss, teacherEntropy: m.teacherEntropy, kl: m.kl, lr: m.lr, ms: now() - t });
        ctx.progress(r.step, args.steps, 'training');
        if (args.monitorEvery > 0 && (r.step % args.monitorEvery === 0 || r.step === args.steps)) {
          const tm = now();
          emit('monitor', { step: r.step, top1: await knnMonitor(r), ms: now() - tm });
        }
      }
      return { steps: r.step, stopped: stopRequested, ms: now() - started };
    } finally {
      running = false;
    }
  },

  stop: () => {
    stopRequested = true;
    return running;
  },

  async checkpoint(_args, ctx) {
    if (!run) throw new Error('nothing trained yet');
    const r = run;
    const { trainer, mean, std } = r.setup;
    const common = {
      mean: JSON.stringify(mean),
      std: JSON.stringify(std),
      shapes: JSON.stringify(r.args.shapes),
      iteration: String(r.step),
      source: `teacher of a DINO run in the dino-ts playground, ${r.step} steps`,
    };
    // The backbone alone, reference names: safetensors.torch.load_file + load_state_dict in
    // PyTorch, `dino embed --weights` / `dino attention --weights`, and this page's loader.
    const backbone = encodeSafetensors(await paramsToArrays(trainer.teacher.backbone.params()), {
      ...common,
      format: 'dino-ts/playground-teacher@1',
      config: JSON.stringify({ backbone: { arch: 'vit', options: vitOptions(r.args) } }),
    });
    // Everything a resumed run needs, as `DinoTrainer.getState` names it.
    const state = await trainer.getState();
    const stateBytes = encodeSafetensors(state.tensors, { ...state.metadata, ...common });
    const result: Checkpoint = {
      backbone: backbone.buffer.slice(backbone.byteOffset, backbone.byteOffset + backbone.byteLength) as ArrayBuffer,
      state: stateBytes.buffer.slice(stateBytes.byteOffset, stateBytes.byteOffset + stateBytes.byteLength) as ArrayBuffer,
      step: r.step,
    };
    ctx.transfer(result.backbone, result.state);
    return result;
  },
};

({ emit } = serve<TrainApi, TrainEvents>(handlers, { immediate: ['stop'] }));
