/**
 * A ViT training step built from plain tfjs-core ops, the configuration of the project's
 * benchmark (TFJS-NOTES: dim 192, depth 6, 3 heads, patch 4, 28x28x1, batch 64): forward to the
 * final-normalised CLS token, loss mean(cls^2), gradients of every parameter. Layout and names
 * follow the reference vision_transformer.py (pre-norm blocks, qkv with bias, MLP ratio 4, GELU,
 * LayerNorm eps 1e-6).
 */

/** Creates the parameters of a small ViT as tf.Variables (random normal * 0.02, fixed seed). */
export function createVit(tf, { dim = 192, depth = 6, heads = 3, patch = 4, img = 28, chans = 1, mlpRatio = 4, seed = 0 } = {}) {
  const n = (img / patch) ** 2;
  let s = seed;
  const rnd = (shape) => tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', s++));
  const ones = (shape) => tf.variable(tf.ones(shape));
  const zeros = (shape) => tf.variable(tf.zeros(shape));
  const p = {
    patchW: rnd([patch * patch * chans, dim]), patchB: zeros([dim]),
    cls: rnd([1, 1, dim]), pos: rnd([1, n + 1, dim]),
    normW: ones([dim]), normB: zeros([dim]),
    blocks: [],
  };
  for (let i = 0; i < depth; i++) {
    p.blocks.push({
      n1w: ones([dim]), n1b: zeros([dim]),
      qkvW: rnd([dim, 3 * dim]), qkvB: zeros([3 * dim]),
      projW: rnd([dim, dim]), projB: zeros([dim]),
      n2w: ones([dim]), n2b: zeros([dim]),
      fc1W: rnd([dim, mlpRatio * dim]), fc1B: zeros([mlpRatio * dim]),
      fc2W: rnd([mlpRatio * dim, dim]), fc2B: zeros([dim]),
    });
  }
  const vars = [p.patchW, p.patchB, p.cls, p.pos, p.normW, p.normB];
  for (const b of p.blocks) vars.push(...Object.values(b));
  return { p, vars, cfg: { dim, depth, heads, patch, img, chans, n } };
}

function layerNorm(tf, x, w, b) {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const v = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(v, 1e-6))), w), b);
}

function linear(tf, x, w, b, fused) {
  const shape = x.shape;
  const x2 = tf.reshape(x, [-1, shape[shape.length - 1]]);
  const y = fused ? tf.fused.matMul({ a: x2, b: w, bias: b }) : tf.add(tf.matMul(x2, w), b);
  return tf.reshape(y, [...shape.slice(0, -1), w.shape[1]]);
}

function gelu(tf, x) {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** CLS token [B, dim] of the ViT for images x [B, H, W, C]. */
export function vitForward(tf, model, x, { fused = false } = {}) {
  const { p, cfg } = model;
  const { dim, heads, patch } = cfg;
  const [B, H, W, C] = x.shape;
  const gh = H / patch, gw = W / patch, n = gh * gw;
  const patches = tf.reshape(tf.transpose(tf.reshape(x, [B, gh, patch, gw, patch, C]), [0, 1, 3, 2, 4, 5]), [B, n, patch * patch * C]);
  let t = linear(tf, patches, p.patchW, p.patchB, fused);
  t = tf.concat([tf.tile(p.cls, [B, 1, 1]), t], 1);
  t = tf.add(t, p.pos);
  const hd = dim / heads, N = n + 1;
  for (const b of p.blocks) {
    const h = layerNorm(tf, t, b.n1w, b.n1b);
    const qkv = tf.transpose(tf.reshape(linear(tf, h, b.qkvW, b.qkvB, fused), [B, N, 3, heads, hd]), [2, 0, 3, 1, 4]);
    const [q, k, v] = tf.unstack(qkv, 0);
    const attn = tf.softmax(tf.mul(tf.matMul(q, k, false, true), hd ** -0.5));
    const o = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [B, N, dim]);
    t = tf.add(t, linear(tf, o, b.projW, b.projB, fused));
    const h2 = layerNorm(tf, t, b.n2w, b.n2b);
    t = tf.add(t, linear(tf, gelu(tf, linear(tf, h2, b.fc1W, b.fc1B, fused)), b.fc2W, b.fc2B, fused));
  }
  t = layerNorm(tf, t, p.normW, p.normB);
  return tf.reshape(tf.slice(t, [0, 0, 0], [B, 1, dim]), [B, dim]);
}

/** One forward + backward of mean(cls^2); returns the gradients (caller disposes). */
export function vitStep(tf, model, x, opts) {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(vitForward(tf, model, x, opts))), model.vars);
  return { value, grads };
}
