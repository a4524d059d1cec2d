/**
 * @dino-ts/dino: the DINO objective and training step (Caron et al. 2021), exact against the
 * PyTorch reference (facebookresearch/dino).
 *
 * The training surface, for an application:
 * - `new DinoTrainer(config)`: `DinoTrainerConfig` holds the reference's main_dino.py arguments in
 *   camelCase, grouped as `backbone`, `head`, `loss`, `optim`, `multicrop` and the run's
 *   `epochs`, `itersPerEpoch`, `batchSize`, `seed`; each group declared once by its package.
 * - `await trainer.step(crops, iteration, epoch?)` -> `DinoStepMetrics` (loss, teacherEntropy,
 *   kl, lr, wd, momentum, teacherTemp), throws `NonFiniteLossError` without changing anything.
 * - `await trainer.getState()` -> `{ tensors, metadata }` (feed to `encodeSafetensors`);
 *   `trainer.loadState(state)` restores it.
 * - `trainer.teacher.backbone`: the network to evaluate (k-NN, attention maps).
 *
 * The pieces, usable alone: `DinoLoss` (centering, sharpening, teacher-temperature schedule),
 * `cosineScheduler`, `teacherTempSchedule`, `emaUpdate`, `AdamW`, `clipGradients`,
 * `cancelGradientsLastLayer`, `MultiCropNetwork` (reference MultiCropWrapper), `namedGrads`.
 *
 * @example
 * ```ts
 * import { DinoTrainer } from '@dino-ts/dino';
 * const trainer = new DinoTrainer({ backbone: { arch: 'vit_tiny', options: { imgSize: 32, patchSize: 4 } },
 *   head: { outDim: 4096 }, multicrop: { localCropsNumber: 6 }, epochs: 100, itersPerEpoch: 390, batchSize: 128 });
 * const m = await trainer.step([g1, g2, l1, l2, l3, l4, l5, l6], 0);
 * console.log(m.loss, m.teacherEntropy);
 * ```
 */
export { ADAMW_DEFAULTS, CLIP_EPS } from './defaults';
export { linspace, cosineScheduler, CosineSchedule, scheduleAt } from './schedules';
export { DinoLoss, DINO_LOSS_SETTINGS, teacherTempSchedule, type DinoLossConfig, type DinoLossOutput } from './loss';
export { emaUpdate } from './ema';
export { collapseSign, describeCollapse, DOMINANT_ENTROPY, UNIFORM_ENTROPY, type CollapseKind } from './collapse';
export { AdamW, paramGroups, type AdamWOptions, type AdamWStepOptions } from './adamw';
export { clipGradients, clipGradientsAsync, cancelGradientsLastLayer } from './clip';
export { namedGrads, accumulateGrads, disposeGrads, type Grads } from './grads';
export { MultiCropNetwork, groupCropsByResolution, type CropGroup, type MultiCropOptions } from './multicrop';
export {
  resolveTrainerConfig,
  DINO_OPTIM_SETTINGS,
  DINO_RUN_SETTINGS,
  DINO_BACKBONE_SETTINGS,
  BACKWARD_MODES,
  type BackboneSpec,
  type BackwardMode,
  type BackboneRequest,
  type DinoTrainerConfig,
  type ResolvedDinoTrainerConfig,
} from './config';
export { DinoTrainer, NonFiniteLossError, type DinoStepMetrics, type DinoTrainerState } from './trainer';
