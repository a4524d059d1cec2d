/**
 * The reference's training defaults (facebookresearch/dino main_dino.py arguments), each written
 * once. Names are the reference's in camelCase.
 */
export const DINO_DEFAULTS = {
  /** Backbone registry name (`--arch`). */
  arch: 'vit_small',
  /** K, the head's output dimension (`--out_dim`). */
  outDim: 65536,
  /** Fix the last layer's weight-norm gain at 1 (`--norm_last_layer`). */
  normLastLayer: true,
  /** Base EMA momentum of the teacher, raised to 1 by a cosine schedule (`--momentum_teacher`). */
  momentumTeacher: 0.996,
  /** BatchNorm in the projection head (`--use_bn_in_head`). */
  useBnInHead: false,
  /** Teacher temperature at the start of its warm-up (`--warmup_teacher_temp`). */
  warmupTeacherTemp: 0.04,
  /** Teacher temperature after its warm-up (`--teacher_temp`). */
  teacherTemp: 0.04,
  /** Epochs of the linear teacher-temperature warm-up (`--warmup_teacher_temp_epochs`). */
  warmupTeacherTempEpochs: 0,
  /** Student temperature (DINOLoss student_temp). */
  studentTemp: 0.1,
  /** Momentum of the center's moving average (DINOLoss center_momentum). */
  centerMomentum: 0.9,
  /** Weight decay at the start of its cosine schedule (`--weight_decay`). */
  weightDecay: 0.04,
  /** Weight decay at the end of its cosine schedule (`--weight_decay_end`). */
  weightDecayEnd: 0.4,
  /** Per-tensor gradient norm clip; 0 disables (`--clip_grad`). */
  clipGrad: 3.0,
  /** Images per step (`--batch_size_per_gpu` times the number of GPUs); scales the lr. */
  batchSize: 64,
  /** Training epochs (`--epochs`). */
  epochs: 100,
  /** Epochs during which the head's last layer gets no update (`--freeze_last_layer`). */
  freezeLastLayer: 1,
  /** Peak learning rate per 256 images: lr = lr * batchSize / 256 (`--lr`). */
  lr: 0.0005,
  /** Epochs of linear learning-rate warm-up from 0 (`--warmup_epochs`). */
  warmupEpochs: 10,
  /** Final learning rate of the cosine schedule (`--min_lr`). */
  minLr: 1e-6,
  /** Stochastic depth of the student backbone (`--drop_path_rate`). */
  dropPathRate: 0.1,
  /** Number of small local crops (`--local_crops_number`). */
  localCropsNumber: 8,
  /** Seed of the initialisation and of drop path (`--seed`). */
  seed: 0,
} as const;

/** torch.optim.AdamW defaults used by the reference. */
export const ADAMW_DEFAULTS = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
} as const;

/** Per-tensor gradient clipping adds this to the norm (reference utils.clip_gradients). */
export const CLIP_EPS = 1e-6;

/**
 * Settings of this implementation that the reference does not have (they change memory and
 * speed, never the numbers).
 */
export const TRAINER_DEFAULTS = {
  /**
   * Most batch rows per forward / backward pass of the student (per view) and per teacher
   * backbone pass; 0 = the whole batch. Bounds the activations alive at once (the wasm heap has
   * 32-bit addresses); the summed gradient is exactly the whole-batch one.
   */
  microBatch: 16,
} as const;
