/**
 * Identity and same-dtype Cast without a copy. The engine clones (Identity) every tensor it saves
 * for the backward pass and casts every gradient it routes through a clone; the stock wasm
 * kernels copy the data each time, while tensors are immutable, so the output can share the
 * input's buffer under a reference count, as the stock Reshape kernel and the cpu backend's
 * Identity already do.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { moduleFor, runStock, type KernelArgs } from '../state';

interface RefCounting {
  incRef(dataId: object): void;
}

function share(backend: unknown, x: TensorInfo): TensorInfo {
  (backend as RefCounting).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function identity(args: KernelArgs<{ x: TensorInfo }>): TensorInfo | TensorInfo[] {
  const { x } = args.inputs;
  if (moduleFor(args.backend) == null || x.dtype === 'string' || x.dtype === 'complex64') return runStock(tf.Identity, args);
  return share(args.backend, x);
}

export function cast(args: KernelArgs<{ x: TensorInfo }, { dtype: DataType }>): TensorInfo | TensorInfo[] {
  const { x } = args.inputs;
  const { dtype } = args.attrs as { dtype: DataType };
  if (moduleFor(args.backend) == null || dtype !== x.dtype || x.dtype === 'string' || x.dtype === 'complex64') {
    return runStock(tf.Cast, args);
  }
  return share(args.backend, x);
}
