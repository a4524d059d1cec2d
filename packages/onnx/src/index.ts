/**
 * @dino-ts/onnx: a dino-ts Vision Transformer as an ONNX model, written from TypeScript (no
 * Python, no protobuf library), for onnxruntime (Node, web, native) and other ONNX runtimes.
 *
 * @example
 * import { VisionTransformer } from '@dino-ts/backbones';
 * import { exportOnnx, inspectOnnx } from '@dino-ts/onnx';
 * const vit = new VisionTransformer({ imgSize: 32, patchSize: 8, embedDim: 64, depth: 2, numHeads: 2 });
 * const bytes = await exportOnnx(vit);             // a .onnx file's bytes
 * inspectOnnx(bytes).outputs;                      // cls [batch, 64], attention [batch, 2, 17, 17]
 */
/** Export a ViT; its options, their declarations and defaults; the graph's input and output names. */
export { exportOnnx, ONNX_EXPORT_SETTINGS, ONNX_EXPORT_DEFAULTS, ONNX_NAMES } from './export';
export type { OnnxExportOptions, ResolvedOnnxExportOptions } from './export';
/** Read an ONNX file's summary (versions, inputs, outputs, operators, initializers) from its bytes. */
export { inspectOnnx } from './inspect';
export type { OnnxModelInfo, OnnxTensorInfo, OnnxInitializerInfo } from './inspect';
