/**
 * Weights files that are broken or hostile, through the built CLI: each gives exit code 2 and one
 * line naming the problem, and nothing in the file is ever executed (a pickle that asks for
 * os.system to create a file does not create it).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { decodeSafetensors, encodeSafetensors } from '@dino-ts/core';
import { tempDir } from '@dino-ts/core/testing';

const BIN = resolve(__dirname, '../dist/bin.js');
const FIXTURES = resolve(__dirname, '../../../packages/weights/fixtures');

function dino(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, err: r.stderr };
}

/** A legacy-format torch file (4 pickles) whose main pickle is `body` (protocol 2, then STOP). */
function legacyPth(body: number[]): Uint8Array {
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const version = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e]; // BININT2 1001
  const sysInfo = [0x80, 0x02, 0x7d, 0x2e]; // EMPTY_DICT
  return Uint8Array.from([...magic, ...version, ...sysInfo, 0x80, 0x02, ...body, 0x2e]);
}
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

describe('hostile and broken weights files', () => {
  let dir: string;
  let pics: string;
  const sentinel = join(tempDir('dino-sentinel-'), 'executed');
  beforeAll(async () => {
    dir = tempDir('dino-hostile-weights-');
    pics = join(dir, 'pics');
    mkdirSync(pics);
    await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toFile(join(pics, 'a.png'));
    // GLOBAL 'os system', the argument, TUPLE1, REDUCE: what a malicious .pth does on torch.load.
    writeFileSync(join(dir, 'os-system.pth'), legacyPth([0x63, ...ascii('os\nsystem\n'), 0x58, ...[sentinel.length + 6, 0, 0, 0], ...ascii(`touch ${sentinel}`), 0x85, 0x52]));
    writeFileSync(join(dir, 'builtins-eval.pth'), legacyPth([0x8c, 8, ...ascii('builtins'), 0x8c, 4, ...ascii('eval'), 0x93]));
    writeFileSync(join(dir, 'unknown-opcode.pth'), legacyPth([0xff]));
    const good = readFileSync(join(FIXTURES, 'vit.pth'));
    writeFileSync(join(dir, 'truncated.pth'), good.subarray(0, Math.floor(good.length / 2)));
    writeFileSync(join(dir, 'not-weights.pth'), Buffer.from('<html>404 Not Found</html>\n'));
    writeFileSync(join(dir, 'empty.safetensors'), Buffer.alloc(0));
    const st = decodeSafetensors(new Uint8Array(readFileSync(join(FIXTURES, 'vit_bf16.safetensors'))));
    const missing = { ...st.tensors };
    delete missing['blocks.1.mlp.fc2.weight'];
    writeFileSync(join(dir, 'missing-key.safetensors'), encodeSafetensors(missing));
    const wrong = { ...st.tensors };
    const qkv = wrong['blocks.0.attn.qkv.bias'];
    wrong['blocks.0.attn.qkv.bias'] = { dtype: 'F32', shape: [qkv.shape[0] - 1], data: new Float32Array(qkv.shape[0] - 1) };
    writeFileSync(join(dir, 'wrong-shape.safetensors'), encodeSafetensors(wrong));
  });

  const cases: [string, RegExp][] = [
    ['os-system.pth', /os\.system.*refused/],
    ['builtins-eval.pth', /builtins\.eval.*refused/],
    ['unknown-opcode.pth', /opcode/],
    ['truncated.pth', /truncated|end of|zip/i],
    ['not-weights.pth', /not a \.pth .* or safetensors file/],
    ['empty.safetensors', /safetensors|too short|empty/i],
    ['missing-key.safetensors', /blocks\.1\.mlp\.fc2\.weight/],
    ['wrong-shape.safetensors', /blocks\.0\.attn\.qkv/],
  ];
  for (const [file, message] of cases) {
    it(`${file}: exit 2, one line naming the problem, nothing executed`, () => {
      for (const args of [['embed', '--weights', join(dir, file), '--images', pics, '--to', join(dir, `${file}.npy`)], ['convert', join(dir, file), join(dir, `${file}.out.safetensors`)]]) {
        const r = dino([...args, '--backend', 'wasm']);
        expect(r.code, `${args[0]} ${file}: ${r.err}`).toBe(2);
        const errors = r.err.split('\n').filter((l) => l.startsWith('Error'));
        expect(errors, r.err).toHaveLength(1);
        expect(errors[0]).toMatch(message);
        expect(r.err).not.toMatch(/\n\s+at /);
        expect(existsSync(args[args.length - 1])).toBe(false);
      }
      expect(existsSync(sentinel)).toBe(false);
    });
  }
});
