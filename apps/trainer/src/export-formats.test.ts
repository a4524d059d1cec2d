/**
 * `dino export` in every format, read back as a user of the file would: safetensors and .pth by
 * @dino-ts/weights (the heads come from the file's metadata, not guessed), ONNX by its own
 * reader, the reference checkpoint as main_dino.py's save_dict.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '@dino-ts/core/testing';
import { readPth, readWeights } from '@dino-ts/weights';
import { inspectOnnx } from '@dino-ts/onnx';

const BIN = resolve(__dirname, '../dist/bin.js');
const dino = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 180_000 });

describe('dino export formats', () => {
  let run: string;
  beforeAll(() => {
    run = tempDir('dino-export-');
    const r = dino(['train', '--preset', 'smoke', '--train-size', '64', '--test-size', '32', '--batch-size', '16', '--max-iterations', '1', '--backend', 'wasm', '--no-report', '--eval-every', '0', '--out', run]);
    expect(r.status, r.stderr).toBe(0);
  });

  it('safetensors (reference and Hugging Face names), pth, onnx and the reference checkpoint', () => {
    const out = tempDir('dino-export-out-');
    const file = (name: string) => join(out, name);
    for (const args of [
      ['--to', file('t.safetensors')],
      ['--to', file('hf.safetensors'), '--names', 'huggingface'],
      ['--to', file('t.pth')],
      ['--to', file('t.onnx')],
      ['--to', file('ckpt.pth'), '--format', 'reference-checkpoint'],
    ]) {
      const r = dino(['export', '--out', run, ...args, '--backend', 'wasm']);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    // The smoke preset's ViT is 32 wide with 2 heads: width / 64 would be wrong, the metadata says 2.
    for (const name of ['t.safetensors', 'hf.safetensors']) {
      const w = readWeights(new Uint8Array(readFileSync(file(name))), { source: name });
      expect(w.arch?.numHeads, name).toBe(2);
      expect(w.numHeadsFrom, name).toBe('metadata');
      expect(w.arch?.embedDim).toBe(32);
    }
    expect(readWeights(new Uint8Array(readFileSync(file('hf.safetensors')))).naming).toBe('huggingface');
    const pth = readWeights(new Uint8Array(readFileSync(file('t.pth'))), { numHeads: 2 });
    expect(Object.keys(pth.backbone)).toContain('blocks.1.attn.qkv.weight');
    const onnx = inspectOnnx(new Uint8Array(readFileSync(file('t.onnx'))));
    expect(onnx.inputs[0].name).toBe('images');
    expect(onnx.outputs.map((o) => o.name)).toEqual(['cls', 'attention']);
    const ckpt = readPth(new Uint8Array(readFileSync(file('ckpt.pth')))).value as Map<string, unknown>;
    expect([...ckpt.keys()]).toEqual(['student', 'teacher', 'optimizer', 'epoch', 'dino_loss']);
    expect([...(ckpt.get('student') as Map<string, unknown>).keys()][0]).toMatch(/^module\.backbone\./);
  });
});
