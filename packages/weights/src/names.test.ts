// Names and shapes: the namings DINO weights are published under, mapped onto the reference's,
// and the architecture read off the shapes.
import { describe, it, expect } from 'vitest';
import { ConfigError, DataError, type NamedArray } from '@dino-ts/core';
import { fromHuggingFaceNames, inferVitArchitecture, toHuggingFaceNames, toReferenceNames } from './index';

const arr = (shape: number[], fill = 0): NamedArray => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: new Float32Array(n).map((_, i) => fill + i) };
};

/** The shapes of a reference ViT's state dict (values are indices). */
function vitShapes(o: { d: number; depth: number; p: number; c?: number; tokens: number; hidden?: number; qkvBias?: boolean }): Record<string, NamedArray> {
  const { d, depth, p, c = 3, tokens, hidden = 4 * d, qkvBias = true } = o;
  const sd: Record<string, NamedArray> = {
    cls_token: arr([1, 1, d]),
    pos_embed: arr([1, tokens, d]),
    'patch_embed.proj.weight': arr([d, c, p, p]),
    'patch_embed.proj.bias': arr([d]),
  };
  for (let i = 0; i < depth; i++) {
    const b = `blocks.${i}.`;
    Object.assign(sd, {
      [`${b}norm1.weight`]: arr([d]),
      [`${b}norm1.bias`]: arr([d]),
      [`${b}attn.qkv.weight`]: arr([3 * d, d]),
      ...(qkvBias ? { [`${b}attn.qkv.bias`]: arr([3 * d]) } : {}),
      [`${b}attn.proj.weight`]: arr([d, d]),
      [`${b}attn.proj.bias`]: arr([d]),
      [`${b}norm2.weight`]: arr([d]),
      [`${b}norm2.bias`]: arr([d]),
      [`${b}mlp.fc1.weight`]: arr([hidden, d]),
      [`${b}mlp.fc1.bias`]: arr([hidden]),
      [`${b}mlp.fc2.weight`]: arr([d, hidden]),
      [`${b}mlp.fc2.bias`]: arr([d]),
    });
  }
  sd['norm.weight'] = arr([d]);
  sd['norm.bias'] = arr([d]);
  return sd;
}

describe('inferVitArchitecture', () => {
  it('the published ViT-S/16 and ViT-B/8 shapes give their architectures (heads = D / 64)', () => {
    // Shapes only matter; two blocks stand for twelve.
    expect(inferVitArchitecture(vitShapes({ d: 384, depth: 2, p: 16, tokens: 197 }))).toEqual({
      imgSize: 224, patchSize: 16, inChans: 3, embedDim: 384, depth: 2, numHeads: 6, mlpRatio: 4, qkvBias: true,
    });
    const b8 = inferVitArchitecture(vitShapes({ d: 768, depth: 1, p: 8, tokens: 785 }));
    expect([b8.imgSize, b8.patchSize, b8.numHeads]).toEqual([224, 8, 12]);
    expect(inferVitArchitecture(vitShapes({ d: 192, depth: 1, p: 16, tokens: 197 })).numHeads).toBe(3);
  });

  it('no qkv bias, other channels and MLP ratios, explicit heads, non-square grids', () => {
    const a = inferVitArchitecture(vitShapes({ d: 96, depth: 3, p: 4, c: 1, tokens: 50, hidden: 100, qkvBias: false }), { numHeads: 4 });
    expect(a).toMatchObject({ imgSize: 28, patchSize: 4, inChans: 1, depth: 3, numHeads: 4, qkvBias: false });
    expect(Math.floor(96 * a.mlpRatio)).toBe(100);
    const wide = vitShapes({ d: 64, depth: 1, p: 8, tokens: 1 + 2 * 3 });
    expect(() => inferVitArchitecture(wide)).toThrow(/not a square grid; pass imgSize/);
    expect(inferVitArchitecture(wide, { imgSize: [16, 24] }).imgSize).toEqual([16, 24]);
    expect(() => inferVitArchitecture(wide, { imgSize: 32 })).toThrow(ConfigError);
  });

  it('says what is wrong, in one line', () => {
    const sd = vitShapes({ d: 48, depth: 2, p: 4, tokens: 17 });
    const check = (weights: Record<string, NamedArray>, pattern: RegExp, opts = {}) => {
      let err: Error | undefined;
      try {
        inferVitArchitecture(weights, { source: 'w.pth', ...opts });
      } catch (e) {
        err = e as Error;
      }
      expect(err).toBeInstanceOf(DataError);
      expect(err!.message).toMatch(pattern);
      expect(err!.message).not.toContain('\n');
    };
    check(sd, /^w\.pth: cannot tell the number of attention heads: embedDim 48 is not a multiple of 64.*pass numHeads$/);
    const { cls_token: _drop, ...noCls } = sd;
    check(noCls, /^w\.pth: not a reference ViT state dict: no "cls_token"; found pos_embed, /);
    check({ ...sd, cls_token: arr([1, 48]) }, /"cls_token" has shape \[1,48\]; a ViT's has 3 dimensions/);
    check({ ...sd, 'patch_embed.proj.weight': arr([48, 3, 4, 2]) }, /4x2 kernel; only square patches/);
    check({ ...sd, 'blocks.3.norm1.weight': arr([48]) }, /numbered up to 3 but block 2 is missing/, { numHeads: 4 });
    expect(() => inferVitArchitecture(sd, { numHeads: 5 })).toThrow(/numHeads = 5: must divide embedDim \(48\)/);
  });
});

describe('names', () => {
  it('Hugging Face ViT names map to the reference, q, k, v concatenated in that order', () => {
    const ref = vitShapes({ d: 8, depth: 2, p: 4, tokens: 5 });
    // Distinct values per tensor, so a mix-up of q / k / v shows.
    Object.entries(ref).forEach(([, a], i) => (a.data as Float32Array).forEach((_, j, d) => ((d as Float32Array)[j] = i * 1000 + j)));
    const hf = toHuggingFaceNames(ref);
    expect(Object.keys(hf)).toContain('encoder.layer.1.attention.attention.value.bias');
    expect(Object.keys(hf)).toContain('embeddings.patch_embeddings.projection.weight');
    const q = hf['encoder.layer.0.attention.attention.query.weight'];
    expect(q.shape).toEqual([8, 8]);
    expect([...q.data.slice(0, 2)]).toEqual([...ref['blocks.0.attn.qkv.weight'].data.slice(0, 2)]);
    const back = fromHuggingFaceNames({ ...hf, 'pooler.dense.weight': arr([8, 8]), 'pooler.dense.bias': arr([8]) });
    expect(back.ignored).toEqual(['pooler.dense.weight', 'pooler.dense.bias']);
    expect(Object.keys(back.backbone).sort()).toEqual(Object.keys(ref).sort());
    for (const k of Object.keys(ref)) expect(back.backbone[k]).toEqual(ref[k]);
    // With ViTForImageClassification's prefix and its classifier.
    const prefixed = toReferenceNames({ ...toHuggingFaceNames(ref, 'vit.'), 'classifier.weight': arr([10, 8]) });
    expect(prefixed.huggingface).toBe(true);
    expect(prefixed.ignored).toEqual(['classifier.weight']);
    expect(Object.keys(prefixed.backbone).sort()).toEqual(Object.keys(ref).sort());
  });

  it('an incomplete q / k / v set is left under its own names, so a strict load reports it', () => {
    const hf = toHuggingFaceNames(vitShapes({ d: 8, depth: 1, p: 4, tokens: 5 }));
    delete hf['encoder.layer.0.attention.attention.key.weight'];
    const { backbone } = fromHuggingFaceNames(hf);
    expect(backbone['blocks.0.attn.qkv.weight']).toBeUndefined();
    expect(backbone['encoder.layer.0.attention.attention.query.weight']).toBeDefined();
    expect(backbone['blocks.0.attn.qkv.bias'].shape).toEqual([24]);
  });

  it('DDP and MultiCropWrapper prefixes are stripped, the head kept apart', () => {
    const m = toReferenceNames({ 'module.backbone.cls_token': arr([1, 1, 4]), 'module.head.mlp.0.weight': arr([2, 4]), 'module.other.x': arr([1]) });
    expect(Object.keys(m.backbone)).toEqual(['cls_token']);
    expect(Object.keys(m.head!)).toEqual(['mlp.0.weight']);
    expect(m.ignored).toEqual(['other.x']);
    // A tensor named "__proto__" stays a tensor (names come from files).
    const odd: Record<string, NamedArray> = { cls_token: arr([1, 1, 4]) };
    Object.defineProperty(odd, '__proto__', { value: arr([1]), enumerable: true });
    const flat = toReferenceNames(odd);
    expect(Object.keys(flat.backbone)).toEqual(['cls_token', '__proto__']);
    expect(Object.getPrototypeOf(flat.backbone)).toBe(Object.prototype);
  });

  it('reference names with no Hugging Face equivalent are refused when converting', () => {
    expect(() => toHuggingFaceNames({ 'head.weight': arr([2]) })).toThrow(/head\.weight.*no Hugging Face ViT equivalent/);
  });
});
