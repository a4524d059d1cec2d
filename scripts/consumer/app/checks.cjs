// The checks every consumer script runs, whatever its module system and import order. It takes
// the modules as arguments so that it imports nothing itself: the calling script alone decides
// what loads first and through which module system.
'use strict';

function fail(message) {
  throw new Error(`consumer check failed: ${message}`);
}

/**
 * @param {object} m modules as the calling script loaded them: tf, tfOther (tfjs-core through the
 *   other module system), core, backbones, backbonesOther, dino, wasmKernels; `label` names the run.
 */
async function run(m) {
  const { tf, tfOther, core, backbones, backbonesOther, dino, wasmKernels, label } = m;
  // One engine: the one on the global namespace, seen the same through import and require.
  if (tf.engine() !== globalThis._tfengine) fail(`${label}: tf.engine() is not the global engine`);
  const other = typeof tfOther.engine === 'function' ? tfOther : tfOther.default;
  if (other.engine() !== tf.engine()) fail(`${label}: import and require see different engines`);

  await tf.setBackend('wasm');
  await tf.ready();
  await wasmKernels.registerWasmKernels();
  const kernels = wasmKernels.wasmKernelsInfo();
  if (!kernels || kernels.kernels.length === 0) fail(`${label}: the dino-ts wasm kernels are not active`);

  // A backbone registered through one module system is found through the other.
  const name = `consumer_${label.replace(/\W+/g, '_')}`;
  backbones.registerBackbone(name, (opts, n) => new backbones.VisionTransformer({ imgSize: 16, patchSize: 4, embedDim: 16, depth: 1, numHeads: 2, ...opts }, n));
  if (!backbonesOther.listBackbones().includes(name)) fail(`${label}: ${name} registered here is missing from the other build`);

  const vit = backbones.createBackbone(name);
  const rng = new core.Rng(0);
  const image = (b, px) => tf.tensor4d(Float32Array.from({ length: b * px * px * 3 }, () => rng.normal()), [b, px, px, 3]);
  const x = image(2, 16);
  const cls = vit.forward(x);
  if (!(cls instanceof tf.Tensor)) fail(`${label}: a backbone output is not a Tensor of the application's tfjs-core`);
  tf.dispose([x, cls]);
  vit.dispose();

  const trainer = new dino.DinoTrainer({
    backbone: { arch: 'vit', options: { imgSize: 16, patchSize: 4, embedDim: 32, depth: 2, numHeads: 2 } },
    head: { outDim: 64, hiddenDim: 48, bottleneckDim: 16 },
    multicrop: { localCropsNumber: 2 },
    optim: { warmupEpochs: 1 },
    batchSize: 4,
    epochs: 2,
    itersPerEpoch: 2,
  });
  const weight = () => trainer.student.params().get('backbone.blocks.0.attn.qkv.weight').dataSync().slice();
  const before = weight();
  const losses = [];
  for (let it = 0; it < 2; it++) {
    const crops = [image(4, 16), image(4, 16), image(4, 8), image(4, 8)];
    const metrics = await trainer.step(crops, it);
    tf.dispose(crops);
    losses.push(metrics.loss);
  }
  const after = weight();
  trainer.dispose();
  if (!losses.every(Number.isFinite)) fail(`${label}: non-finite loss ${losses}`);
  if (!after.some((v, i) => v !== before[i])) fail(`${label}: the DINO step did not move the student`);
  return { label, losses, kernels: kernels.kernels.length, relaxedSimd: kernels.relaxedSimd, engines: 1 };
}

module.exports = { run };
