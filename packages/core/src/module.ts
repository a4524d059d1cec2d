/**
 * A small module base in the spirit of PyTorch's `nn.Module`: named parameters and buffers,
 * child modules whose names prefix their parameters' names, a train/eval mode that children
 * share, and one `dispose`. Models built from modules get their state-dict names
 * (`blocks.0.attn.qkv.weight`) from the tree itself instead of spelling every key by hand, and
 * composing two models (backbone + head) needs no renaming.
 *
 * Order is PyTorch's: a module's own parameters in registration order, then each child's, in
 * registration order, recursively (`named_parameters`); `stateDict` puts a module's own buffers
 * after its own parameters, before its children (`state_dict`). Checkpoints and reference
 * fixtures depend on that order.
 *
 * One difference from PyTorch: a module starts in eval mode. Every forward in dino-ts takes an
 * explicit `training` option, and a call without it has always meant inference (evaluation code
 * calls `backbone.forward(x)`), so `train()` only changes what a call without the option does.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors';
import type { HasParams, Params } from './params';

/**
 * Marks module instances registry-wide. An application that loads both builds of a package (ESM
 * beside CommonJS) has two `Module` classes; modules only ever talk to each other through public
 * methods, and `isModule` recognises either build's instances by this mark.
 */
const MODULE_MARK = Symbol.for('@dino-ts/core:module');

/** Whether `value` is a `Module` (of this or another loaded build of @dino-ts/core). */
export function isModule(value: unknown): value is Module {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MODULE_MARK] === true;
}

/** Adds `prefix.` to every key of `from` and appends the entries to `to`. */
function appendPrefixed(to: Params, prefix: string, from: Iterable<[string, tf.Variable]>): void {
  for (const [k, v] of from) {
    const key = `${prefix}.${k}`;
    // Unreachable through register* (names are unique per module and contain no '.'), but an
    // adapter's names come from elsewhere; a silent overwrite would drop a tensor from checkpoints.
    if (to.has(key)) throw new ConfigError('name', key, 'must be unique in the module tree');
    to.set(key, v);
  }
}

/**
 * Base class of every network part. Subclasses register their variables and sub-modules in the
 * constructor, in the reference's order, and write their own forward methods (their signatures
 * differ: a backbone takes images, a head features).
 *
 * A plain `new Module()` is a valid container (PyTorch's bare `nn.Module()` or a `Sequential`
 * with parameter-less entries): register children under the reference's names.
 *
 * @example
 * class Affine extends Module {
 *   readonly weight = this.registerParameter('weight', onesVariable('weight', [4]));
 *   readonly bias = this.registerParameter('bias', zerosVariable('bias', [4]));
 *   forward(x: tf.Tensor): tf.Tensor {
 *     return tf.tidy(() => tf.add(tf.mul(x, this.weight), this.bias));
 *   }
 * }
 * const net = new Module();
 * net.registerModule('scale', new Affine());
 * [...net.params().keys()]; // ['scale.weight', 'scale.bias']
 */
export class Module implements HasParams {
  private readonly ownParams = new Map<string, tf.Variable>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly childModules = new Map<string, Module>();
  private isTraining = false;

  constructor() {
    // Non-enumerable, so the mark stays out of spreads and JSON.
    Object.defineProperty(this, MODULE_MARK, { value: true });
  }

  /** Training mode (batch statistics, drop path) for calls that do not say; false until `train()`. */
  get training(): boolean {
    return this.isTraining;
  }

  /**
   * Registers a parameter under `name` (PyTorch's `register_parameter`). A non-trainable variable
   * is still a parameter (PyTorch's `requires_grad = False`, e.g. a frozen weight-norm gain): it
   * is in `params()` and the state dict, and optimisers skip it by `v.trainable`.
   */
  registerParameter<T extends tf.Variable>(name: string, v: T): T {
    this.checkName(name);
    this.ownParams.set(name, v);
    return v;
  }

  /**
   * Registers a buffer: state that is saved and loaded but not trained (BatchNorm running
   * statistics). Buffers are never in `params()`, so optimisers and EMA updates do not see them.
   */
  registerBuffer<T extends tf.Variable>(name: string, v: T): T {
    this.checkName(name);
    if (v.trainable) throw new ConfigError(name, 'a trainable variable', 'must be a non-trainable variable to be a buffer');
    this.ownBuffers.set(name, v);
    return v;
  }

  /** Registers a child module; its parameters and buffers appear as `name.<its names>`. */
  registerModule<T extends Module>(name: string, module: T): T {
    this.checkName(name);
    if (!isModule(module)) throw new ConfigError(name, module, 'must be a Module (wrap other objects with asModule)');
    this.childModules.set(name, module);
    return module;
  }

  /** The direct children with their names, in registration order. */
  namedChildren(): Array<[string, Module]> {
    return [...this.childModules];
  }

  /** The direct children, in registration order. */
  children(): Module[] {
    return [...this.childModules.values()];
  }

  /**
   * This module (under `prefix`, '' by default) and every descendant, under dotted paths, parents
   * before children (PyTorch's `named_modules`). For finding layers of a kind, e.g. every BatchNorm.
   */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.childModules) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /**
   * Every parameter (trainable or frozen) under its state-dict name, in the reference's order.
   * A new map each call: callers may keep or edit it.
   */
  params(): Params {
    const out: Params = new Map(this.localParams());
    for (const [name, child] of this.childModules) appendPrefixed(out, name, child.params());
    return out;
  }

  /** Every buffer under its state-dict name, in the reference's order. */
  buffers(): Params {
    const out: Params = new Map(this.localBuffers());
    for (const [name, child] of this.childModules) appendPrefixed(out, name, child.buffers());
    return out;
  }

  /** Parameters and buffers in PyTorch's `state_dict` order (for checkpoints and loading). */
  stateDict(): Params {
    const out: Params = new Map(this.localParams());
    for (const [k, v] of this.localBuffers()) {
      if (out.has(k)) throw new ConfigError('name', k, 'must not name both a parameter and a buffer');
      out.set(k, v);
    }
    for (const [name, child] of this.childModules) appendPrefixed(out, name, child.stateDict());
    return out;
  }

  /** Sets training mode here and in every descendant (PyTorch's `train(mode)`); returns this. */
  train(mode = true): this {
    this.isTraining = mode;
    for (const child of this.childModules.values()) child.train(mode);
    return this;
  }

  /** `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const v of this.localParams().values()) v.dispose();
    for (const v of this.localBuffers().values()) v.dispose();
    for (const child of this.childModules.values()) child.dispose();
  }

  /** This module's own parameters (no children's). Adapters override it to expose foreign ones. */
  protected localParams(): Params {
    return this.ownParams;
  }

  /** This module's own buffers (no children's). */
  protected localBuffers(): Params {
    return this.ownBuffers;
  }

  private checkName(name: string): void {
    if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
      throw new ConfigError('name', name, "must be a non-empty string without '.' (children add the dots)");
    }
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.childModules.has(name)) {
      throw new ConfigError('name', name, 'must be unique within its module');
    }
  }
}

/**
 * Children named '0', '1', ... (PyTorch's `nn.ModuleList`), e.g. a ViT's `blocks`.
 *
 * @example
 * const blocks = new ModuleList(Array.from({ length: 3 }, () => new Block(opts)));
 * blocks.get(0); blocks.length; for (const b of blocks) ...
 */
export class ModuleList<T extends Module = Module> extends Module implements Iterable<T> {
  private readonly items: T[] = [];

  constructor(modules: Iterable<T> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds `module` under the next index. */
  append(module: T): T {
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return module;
  }

  get(index: number): T {
    const m = this.items[index];
    if (m === undefined) throw new ConfigError('index', index, `must be an integer in [0, ${this.items.length - 1}]`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/** What `asModule` accepts: anything with named parameters, optionally buffers, mode and dispose. */
export interface ModuleLike extends HasParams {
  buffers?(): Params;
  train?(mode: boolean): unknown;
  dispose?(): void;
}

/**
 * A Module view of an object that has `params()` (and maybe `buffers()`) but is not a Module:
 * a backbone written by a third party against the plain `Backbone` interface. Its names are
 * taken as they are, so in a parent they get the parent's prefix like any child's.
 */
class ModuleAdapter extends Module {
  constructor(readonly wrapped: ModuleLike) {
    super();
  }

  protected override localParams(): Params {
    return this.wrapped.params();
  }

  protected override localBuffers(): Params {
    return this.wrapped.buffers?.() ?? new Map();
  }

  override train(mode = true): this {
    super.train(mode);
    this.wrapped.train?.(mode);
    return this;
  }

  override dispose(): void {
    if (this.wrapped.dispose) this.wrapped.dispose();
    else super.dispose();
  }
}

/**
 * `value` itself when it is a Module, otherwise a Module wrapping it (its `params()` and
 * `buffers()` read through on every call, `train` and `dispose` forwarded), so a parent can
 * register any `HasParams` as a child.
 */
export function asModule(value: ModuleLike): Module {
  return isModule(value) ? value : new ModuleAdapter(value);
}
