import { describe, expect, it } from 'vitest';
import { WasmOutOfMemoryError } from '@dino-ts/wasm-kernels';
import { ConfigError } from '@dino-ts/core';
import { describeError, isUserError } from './errors';

describe('describeError', () => {
  it('shows a full wasm heap as a user error on one line', () => {
    const e = new WasmOutOfMemoryError('wasm-kernels: out of WebAssembly memory allocating a float32 tensor of shape [64,197,384]; use a smaller --micro-batch');
    expect(isUserError(e)).toBe(true);
    const d = describeError(e, false);
    expect(d.userError).toBe(true);
    expect(d.text.split('\n')).toHaveLength(1);
    expect(d.text).toMatch(/^Error: wasm-kernels: out of WebAssembly memory .*--micro-batch$/);
  });

  it('keeps the stack of an error that is a bug', () => {
    const d = describeError(new TypeError('x is undefined'), false);
    expect(d.userError).toBe(false);
    expect(d.text.split('\n').length).toBeGreaterThan(1);
    expect(isUserError(new ConfigError('batchSize', 0, 'must be at least 1'))).toBe(true);
  });
});
