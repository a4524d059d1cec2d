/**
 * The registration state shared by the kernels: the kernel module bound to one wasm backend and
 * the stock kernel configs each replaced kernel falls back to.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelModule } from './kernel-module';
import type { WasmBackendLike } from './wasm-backend';

export interface KernelArgs<I = NamedTensorInfoMap, A = NamedAttrMap> {
  inputs: I;
  backend: unknown;
  attrs?: A;
}

export interface RegistrationState {
  module: KernelModule;
  stock: Map<string, KernelConfig>;
  /** The relaxedSimd option the module was created with. */
  relaxedRequested: boolean;
}

let state: RegistrationState | null = null;

export function getState(): RegistrationState | null {
  return state;
}

export function setState(s: RegistrationState | null): void {
  state = s;
}

/** The kernel module when `backend` is the one it is bound to, else null (use the stock kernel). */
export function moduleFor(backend: unknown): KernelModule | null {
  return state != null && state.module.backend === backend ? state.module : null;
}

/** Runs the stock kernel `name` (the one replaced at registration). */
export function runStock(name: string, args: KernelArgs<unknown, unknown>): TensorInfo | TensorInfo[] {
  const cfg = state?.stock.get(name);
  if (cfg == null) throw new Error(`wasm-kernels: no stock kernel saved for ${name}`);
  return (cfg.kernelFunc as KernelFunc)(args as unknown as Parameters<KernelFunc>[0]);
}

export type { WasmBackendLike };
