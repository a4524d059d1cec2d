import * as tf from '@tensorflow/tfjs-core';
import { it, expect } from 'vitest';
import { ConfigError } from '@dino-ts/core';
import { assertClose, describeBackends, fx, readFixture } from '@dino-ts/core/testing';
import { evalTransform } from './eval-transform';

const fixture = readFixture(new URL('../fixtures/eval_transform.safetensors', import.meta.url).pathname);
const cases: [string, number, number, number][] = JSON.parse(fixture.metadata.cases.replace(/'/g, '"'));

/** RGBA as a canvas gives it, from the fixture's RGB bytes (alpha 255, which the transform drops). */
function rgba(name: string, h: number, w: number): { data: Uint8ClampedArray; width: number; height: number } {
  const rgb = fixture.tensors[`${name}.input`].data as Int32Array;
  const data = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) data[i * 4 + c] = rgb[i * 3 + c];
    data[i * 4 + 3] = 255;
  }
  return { data, width: w, height: h };
}

describeBackends('evalTransform', () => {
  for (const [name, h, w, size] of cases) {
    it(`resize the short side to 256/224, centre crop, normalise, as torchvision (${name}: ${h}x${w} -> ${size})`, async () => {
      const out = evalTransform(rgba(name, h, w), { size });
      expect(out.shape).toEqual([size, size, 3]);
      // Normalised values (divided by std ~0.22): 5e-5 is about 1e-5 in [0, 1] pixel units.
      assertClose(await out.data() as Float32Array, fx(fixture.tensors, `${name}.output`), 5e-5, name);
      out.dispose();
    });
  }

  it('keeps a picture of the input size as it is, and takes RGB or grey pixels too', async () => {
    const grey = { data: Uint8Array.from({ length: 16 }, (_, i) => i * 16), width: 4, height: 4, channels: 1 };
    const out = evalTransform(grey, { size: 4, mean: null, std: null });
    const v = await out.data();
    expect(Array.from(v.slice(0, 6))).toEqual([0, 0, 0, 16 / 255, 16 / 255, 16 / 255].map(Math.fround));
    out.dispose();
    const squash = evalTransform({ data: new Uint8Array(6 * 10 * 3).fill(255), width: 10, height: 6, channels: 3 }, { size: 4, resize: 'squash', mean: null, std: null });
    expect(squash.shape).toEqual([4, 4, 3]);
    expect(Math.min(...(await squash.data()))).toBeCloseTo(1, 5);
    squash.dispose();
  });

  it('refuses what it cannot make the input size, naming the problem', () => {
    const small = { data: new Uint8Array(3 * 3 * 4), width: 3, height: 3 };
    expect(() => evalTransform(small, { size: 8, resize: 'none' })).toThrow(/needs pictures at least 8x8/);
    expect(() => evalTransform({ ...small, data: new Uint8Array(5) }, { size: 8 })).toThrow(ConfigError);
    expect(() => evalTransform(small, { size: 8, resize: 'sideways' as never })).toThrow(/resize/);
    expect(tf.memory().numTensors).toBeGreaterThanOrEqual(0);
  });
});
