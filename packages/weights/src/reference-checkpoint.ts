/**
 * The reference's training checkpoint (main_dino.py's `save_dict`: student, teacher, optimizer,
 * epoch, args, dino_loss) to and from dino-ts's trainer state, so a run moves between dino-ts
 * and the reference's training loop in both directions: start on a laptop or in a page, continue
 * on a GPU cluster with `torchrun main_dino.py`, and back.
 *
 * dino-ts's trainer state names its tensors `student.<name>`, `teacher.<name>`,
 * `optimizer.<param>.exp_avg|exp_avg_sq|step` and `dino_loss.center` (DinoTrainer.getState). The
 * reference's optimizer numbers its parameters instead: utils.get_params_groups puts the weights
 * (decayed) in group 0 and the biases and norms in group 1, each in `named_parameters` order, and
 * torch numbers them through the groups. The caller gives those two name lists (dino's
 * `paramGroups(student.params())`, which follows the same rule), so names and numbers match.
 */
import { DataError, type NamedArray } from '@dino-ts/core';
import { readPth, writePth } from './pth';
import { PickleTuple, PyFloat, isNamedArray, type PickleDict, type PickleValue } from './values';

/** The student's parameter names in the reference optimizer's order: group 0, then group 1. */
export interface ParamGroupNames {
  regularized: string[];
  notRegularized: string[];
}

/** A reference checkpoint as dino-ts trainer state. */
export interface ReferenceCheckpointState {
  /** Trainer-state tensors (student.*, teacher.*, optimizer.*, dino_loss.center). */
  tensors: Record<string, NamedArray>;
  /** Epochs completed: training resumes at iteration epoch * itersPerEpoch. */
  epoch: number;
  /** The run's arguments (argparse.Namespace) when the checkpoint has them. */
  args?: Record<string, PickleValue>;
}

/** torch.optim.AdamW's settings the reference uses (PyTorch defaults). */
const ADAMW = { betas: [0.9, 0.999], eps: 1e-8 } as const;

function asDict(v: PickleValue | undefined, what: string, source: string): PickleDict {
  if (!(v instanceof Map)) throw new DataError(`${source}: ${what} is not a dict; is this a checkpoint written by main_dino.py?`, source);
  return v;
}

function tensorsOf(dict: PickleDict, what: string, source: string): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const [k, v] of dict) {
    if (typeof k !== 'string' || !isNamedArray(v)) throw new DataError(`${source}: ${what}[${String(k)}] is not a tensor`, source);
    out.set(k, v);
  }
  return out;
}

/** Float32 copy (BatchNorm's num_batches_tracked is int64 in PyTorch, a float in dino-ts). */
function asF32(a: NamedArray, shape = a.shape): NamedArray {
  if (a.dtype === 'F32' && shape === a.shape) return a;
  return { dtype: 'F32', shape, data: Float32Array.from(a.data as ArrayLike<number | bigint>, (x) => Number(x)) };
}

/** Names without DistributedDataParallel's `module.` (the student is always wrapped). */
function unwrap(name: string): string {
  return name.startsWith('module.') ? name.slice('module.'.length) : name;
}

/** Reads main_dino.py's checkpoint.pth as dino-ts trainer state (see the module comment). */
export function readReferenceCheckpoint(bytes: Uint8Array, groups: ParamGroupNames, source = 'checkpoint.pth'): ReferenceCheckpointState {
  const root = asDict(readPth(bytes, { source }).value, 'the file', source);
  for (const key of ['student', 'teacher', 'optimizer', 'epoch']) {
    if (!root.has(key)) throw new DataError(`${source}: no "${key}" entry: a checkpoint of main_dino.py has student, teacher, optimizer, epoch and dino_loss`, source);
  }
  const tensors: Record<string, NamedArray> = {};
  for (const who of ['student', 'teacher'] as const) {
    for (const [k, v] of tensorsOf(asDict(root.get(who), who, source), who, source)) tensors[`${who}.${unwrap(k)}`] = asF32(v);
  }

  const optimizer = asDict(root.get('optimizer'), 'optimizer', source);
  const paramGroups = optimizer.get('param_groups');
  if (!Array.isArray(paramGroups) || paramGroups.length !== 2) {
    throw new DataError(`${source}: the optimizer has ${Array.isArray(paramGroups) ? paramGroups.length : 'no'} parameter groups; the reference's AdamW has 2 (weights, then biases and norms)`, source);
  }
  // Parameter number -> name, group by group, as torch numbers them.
  const byIndex = new Map<number, string>();
  [groups.regularized, groups.notRegularized].forEach((names, g) => {
    const ids = asDict(paramGroups[g] as PickleValue, `optimizer.param_groups[${g}]`, source).get('params');
    if (!Array.isArray(ids) || ids.length !== names.length) {
      throw new DataError(
        `${source}: optimizer group ${g} has ${Array.isArray(ids) ? ids.length : 'no'} parameters, this model has ${names.length}: the checkpoint is of another architecture`,
        source,
      );
    }
    ids.forEach((id, i) => byIndex.set(Number(id), names[i]));
  });
  for (const [id, entry] of asDict(optimizer.get('state'), 'optimizer.state', source)) {
    const name = byIndex.get(Number(id));
    if (name === undefined) throw new DataError(`${source}: optimizer state for parameter ${String(id)}, which no group holds`, source);
    const s = asDict(entry, `optimizer.state[${String(id)}]`, source);
    const step = s.get('step');
    // PyTorch 1.12+ keeps the step as a 0-d tensor, older versions as a number.
    const stepValue = isNamedArray(step) ? Number(step.data[0]) : Number(step);
    if (!Number.isFinite(stepValue)) throw new DataError(`${source}: optimizer.state[${String(id)}].step is not a number`, source);
    tensors[`optimizer.${name}.step`] = { dtype: 'F32', shape: [1], data: Float32Array.of(stepValue) };
    for (const moment of ['exp_avg', 'exp_avg_sq']) {
      const m = s.get(moment);
      if (!isNamedArray(m)) throw new DataError(`${source}: optimizer.state[${String(id)}].${moment} is missing`, source);
      tensors[`optimizer.${name}.${moment}`] = asF32(m);
    }
  }

  const center = root.has('dino_loss') ? asDict(root.get('dino_loss'), 'dino_loss', source).get('center') : undefined;
  if (!isNamedArray(center)) throw new DataError(`${source}: no dino_loss.center: the DINO loss's center is part of the training state`, source);
  tensors['dino_loss.center'] = asF32(center);

  const epoch = Number(root.get('epoch'));
  if (!Number.isInteger(epoch) || epoch < 0) throw new DataError(`${source}: epoch ${String(root.get('epoch'))} is not a whole number`, source);
  const args = root.get('args');
  return { tensors, epoch, args: args && typeof args === 'object' && !(args instanceof Map) && !isNamedArray(args) ? (args as Record<string, PickleValue>) : undefined };
}

export interface WriteReferenceCheckpointOptions {
  /** Epochs completed (main_dino.py resumes at this epoch). */
  epoch: number;
  /** The optimizer's current learning rate and weight decay (main_dino.py overwrites both every iteration). */
  lr?: number;
  weightDecay?: number;
}

/**
 * dino-ts trainer state as main_dino.py's checkpoint.pth: the student under DDP's `module.`
 * names, the teacher, AdamW's state dict with the reference's two groups, the epoch and the DINO
 * loss's center. `args` is left out: main_dino.py's resume does not read it, and it would need a
 * global that `torch.load(weights_only=True)` refuses.
 */
export function writeReferenceCheckpoint(tensors: Record<string, NamedArray>, groups: ParamGroupNames, opts: WriteReferenceCheckpointOptions): Uint8Array {
  const student: PickleDict = new Map();
  const teacher: PickleDict = new Map();
  for (const [k, v] of Object.entries(tensors)) {
    if (k.startsWith('student.')) student.set(`module.${k.slice('student.'.length)}`, v);
    else if (k.startsWith('teacher.')) teacher.set(k.slice('teacher.'.length), v);
  }
  const state: PickleDict = new Map();
  const order = [...groups.regularized, ...groups.notRegularized];
  order.forEach((name, id) => {
    const step = tensors[`optimizer.${name}.step`];
    // A parameter without state never had a gradient (the frozen last layer): none in PyTorch either.
    if (!step) return;
    state.set(
      id,
      new Map<string, PickleValue>([
        ['step', { dtype: 'F32', shape: [], data: Float32Array.of(step.data[0] as number) }],
        ['exp_avg', tensors[`optimizer.${name}.exp_avg`]],
        ['exp_avg_sq', tensors[`optimizer.${name}.exp_avg_sq`]],
      ]),
    );
  });
  const group = (ids: number[], weightDecay: number): PickleDict =>
    new Map<string, PickleValue>([
      ['lr', new PyFloat(opts.lr ?? 0)],
      ['betas', new PickleTuple(ADAMW.betas)],
      ['eps', ADAMW.eps],
      ['weight_decay', new PyFloat(weightDecay)],
      ['amsgrad', false],
      ['maximize', false],
      ['foreach', null],
      ['capturable', false],
      ['params', ids],
    ]);
  const n0 = groups.regularized.length;
  const optimizer: PickleDict = new Map<string, PickleValue>([
    ['state', state],
    ['param_groups', [group(order.slice(0, n0).map((_, i) => i), opts.weightDecay ?? 0), group(order.slice(n0).map((_, i) => n0 + i), 0)]],
  ]);
  const center = tensors['dino_loss.center'];
  if (!center) throw new DataError('trainer state: no dino_loss.center', 'trainer state');
  return writePth(
    new Map<string, PickleValue>([
      ['student', student],
      ['teacher', teacher],
      ['optimizer', optimizer],
      ['epoch', opts.epoch],
      ['dino_loss', new Map<string, PickleValue>([['center', center]])],
    ]),
  );
}
