/**
 * The commands that work on any weights file, not only a dino-ts run: `embed --weights`,
 * `attention`, `convert`, and the formats of `export` beyond safetensors (pth, onnx, the
 * reference's training checkpoint). Weights are read by @dino-ts/weights from the file itself
 * (published .pth, Hugging Face or reference safetensors, F16/BF16); pictures go through the
 * reference's evaluation transform (@dino-ts/eval's evalTransform) after sharp decodes them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync, readFileSync, statSync, mkdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { ConfigError, DataError, encodeSafetensors, paramsToArrays, type NamedArray } from '@dino-ts/core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@dino-ts/augment';
import { DinoTrainer, paramGroups } from '@dino-ts/dino';
import { evalTransform, visualizeAttention, RESIZE_MODES, type ResizeMode } from '@dino-ts/eval';
import { saveAttentionVisualization } from '@dino-ts/eval/node';
import { exportOnnx } from '@dino-ts/onnx';
import { VisionTransformer } from '@dino-ts/backbones';
import { loadVisionTransformer, readWeights, toHuggingFaceNames, writePth, writeReferenceCheckpoint, type WeightsFile } from '@dino-ts/weights';
import { writeFileAtomic } from './atomic';
import { checkOutputFile, prepareOutputDir } from './run-dir';
import { readCheckpoint } from './checkpoint';
import { backboneMetadata, trainerConfig } from './trainer-config';
import { loadTeacher } from './model';

/** Picture files a folder may hold (what sharp decodes). */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);
/** Weights files are read whole; past this a clear error beats running out of memory. */
const MAX_WEIGHTS_BYTES = 2 ** 31 - 1;

/** The flat folder's pictures in sorted file-name order (the order of the output rows). */
export function listImages(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError('--images', dir, 'must be a folder of pictures');
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('--images', dir, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a folder of pictures`);
  }
  const files = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
  if (files.length === 0) throw new ConfigError('--images', dir, `holds no pictures (${[...IMAGE_EXTENSIONS].join(', ')})`);
  return files.map((n) => join(dir, n));
}

/** Reads a weights file (any format @dino-ts/weights knows), refusing what is not a file. */
export function readWeightsFile(path: string, opts: { key?: string; numHeads?: number }): WeightsFile {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ConfigError('--weights', path, 'does not exist');
  }
  if (!st.isFile()) throw new ConfigError('--weights', path, 'must be a file (.pth, .pt or .safetensors)');
  if (st.size > MAX_WEIGHTS_BYTES) throw new DataError(`${path}: ${st.size} bytes is more than this command reads (2 GiB)`, path);
  // Without --key a training checkpoint gives its teacher and a single state dict itself.
  const key = opts.key;
  if (key !== undefined && key !== 'teacher' && key !== 'student') throw new ConfigError('--key', key, 'must be teacher or student');
  return readWeights(new Uint8Array(readFileSync(path)), { key, numHeads: opts.numHeads, source: path });
}

/** The model of a weights file, and a line saying what was read. */
export function loadModel(path: string, opts: { key?: string; numHeads?: number }): { vit: VisionTransformer; summary: string } {
  const file = readWeightsFile(path, opts);
  if (!file.arch) throw new DataError(`${file.archError ?? `${path}: not a Vision Transformer`} (--num-heads N)`, path);
  const vit = loadVisionTransformer(file, { source: path, numHeads: opts.numHeads });
  const a = file.arch;
  const summary = `${basename(path)}: ${file.format}, ${file.naming} names${file.key ? ` (${file.key})` : ''}; ViT ${a.embedDim} wide, ${a.depth} blocks, ${vit.numHeads} heads, patch ${a.patchSize}, ${a.imgSize} px, ${a.inChans} channels`;
  return { vit, summary };
}

/** `--normalize imagenet | none | M,S | M1,M2,M3,S1,S2,S3`. */
export function parseNormalize(v: string): { mean: number[] | null; std: number[] | null } {
  if (v === 'imagenet') return { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  if (v === 'none') return { mean: null, std: null };
  const n = v.split(',').map((x) => Number(x.trim()));
  if ((n.length === 2 || n.length === 6) && n.every(Number.isFinite) && n.slice(n.length / 2).every((s) => s > 0)) {
    return n.length === 2 ? { mean: [n[0], n[0], n[0]], std: [n[1], n[1], n[1]] } : { mean: n.slice(0, 3), std: n.slice(3) };
  }
  throw new ConfigError('--normalize', v, 'must be imagenet, none, MEAN,STD or 3 means and 3 stds separated by commas');
}

export interface PictureOptions {
  resize: string;
  normalize: string;
}

/** One picture file decoded by sharp (EXIF orientation applied) and transformed for `vit`. */
async function picture(file: string, vit: VisionTransformer, o: PictureOptions): Promise<tf.Tensor3D> {
  if (!(RESIZE_MODES as readonly string[]).includes(o.resize)) throw new ConfigError('--resize', o.resize, `must be one of ${RESIZE_MODES.join(', ')}`);
  const { mean, std } = parseNormalize(o.normalize);
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(file).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DataError(`${file}: not a picture sharp can read (${(e as Error).message})`, file);
  }
  const { width, height, channels } = decoded.info;
  return evalTransform({ data: decoded.data, width, height, channels }, { size: vit.imgSize, resize: o.resize as ResizeMode, mean, std });
}

/** A .npy file of float32 [rows, cols] (NumPy's format 1.0, little-endian). */
export function encodeNpy(data: Float32Array, rows: number, cols: number): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8], 0);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

export interface EmbedWeightsOptions extends PictureOptions {
  weights: string;
  images: string;
  to: string;
  key?: string;
  numHeads?: number;
  batchSize: number;
}

/** `dino embed --weights FILE --images DIR --to OUT`: CLS features of every picture. */
export async function runEmbedWeights(o: EmbedWeightsOptions): Promise<number> {
  const ext = extname(o.to).toLowerCase();
  if (ext !== '.npy' && ext !== '.safetensors') throw new ConfigError('--to', o.to, 'must end in .npy or .safetensors');
  checkOutputFile(o.to, { flag: '--to' });
  const files = listImages(o.images);
  const { vit, summary } = loadModel(o.weights, o);
  process.stderr.write(`${summary}\n`);
  const dim = vit.embedDim;
  const features = new Float32Array(files.length * dim);
  try {
    for (let start = 0; start < files.length; start += o.batchSize) {
      const chunk = files.slice(start, start + o.batchSize);
      const pics = await Promise.all(chunk.map((f) => picture(f, vit, o)));
      const cls = tf.tidy(() => vit.forward(tf.stack(pics) as tf.Tensor4D));
      features.set(await cls.data(), start * dim);
      tf.dispose([cls, ...pics]);
      process.stderr.write(`\rembedding ${Math.min(start + o.batchSize, files.length)}/${files.length}`);
    }
    process.stderr.write('\n');
  } finally {
    vit.dispose();
  }
  const names = files.map((f) => basename(f));
  if (ext === '.npy') {
    writeFileAtomic(o.to, encodeNpy(features, files.length, dim));
  } else {
    const tensors: Record<string, NamedArray> = { features: { dtype: 'F32', shape: [files.length, dim], data: features } };
    writeFileAtomic(o.to, encodeSafetensors(tensors, { files: JSON.stringify(names), weights: basename(o.weights), transform: `${o.resize}, ${o.normalize}` }));
  }
  process.stdout.write(`Wrote ${files.length} x ${dim} CLS features (rows in file-name order, ${names[0]} first) to ${o.to}\n`);
  return 0;
}

export interface AttentionOptions extends PictureOptions {
  weights: string;
  images: string;
  out: string;
  key?: string;
  numHeads?: number;
  threshold: number;
}

/** `dino attention`: visualize_attention.py's pictures for every picture of a folder. */
export async function runAttention(o: AttentionOptions): Promise<number> {
  if (!(o.threshold > 0 && o.threshold < 1)) throw new ConfigError('--threshold', o.threshold, 'must be between 0 and 1 (the mass the masks keep)');
  const files = listImages(o.images);
  // Made (or checked) before the model loads: a bad --out fails at once, in one line.
  prepareOutputDir(o.out, '--out');
  const { vit, summary } = loadModel(o.weights, o);
  process.stderr.write(`${summary}\n`);
  const { mean, std } = parseNormalize(o.normalize);
  try {
    for (const [i, file] of files.entries()) {
      const pic = await picture(file, vit, o);
      const x = tf.expandDims(pic, 0) as tf.Tensor4D;
      const [vis] = await visualizeAttention(vit, x, { threshold: o.threshold, mean: mean ?? undefined, std: std ?? undefined });
      tf.dispose([pic, x]);
      const dir = join(o.out, basename(file, extname(file)));
      mkdirSync(dir, { recursive: true });
      await saveAttentionVisualization(dir, vis);
      process.stderr.write(`\rattention ${i + 1}/${files.length}`);
    }
    process.stderr.write('\n');
  } finally {
    vit.dispose();
  }
  process.stdout.write(`Wrote the attention maps and ${o.threshold * 100}%-mass masks of ${files.length} pictures under ${o.out}/<picture>/\n`);
  return 0;
}

export const WEIGHT_FORMATS = ['safetensors', 'pth', 'onnx', 'reference-checkpoint'] as const;
export type WeightFormat = (typeof WEIGHT_FORMATS)[number];

/** The format a file name asks for, or the one given. */
export function formatFor(to: string, format?: string): WeightFormat {
  if (format !== undefined) {
    if (!(WEIGHT_FORMATS as readonly string[]).includes(format)) throw new ConfigError('--format', format, `must be one of ${WEIGHT_FORMATS.join(', ')}`);
    return format as WeightFormat;
  }
  const ext = extname(to).toLowerCase();
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.pth' || ext === '.pt') return 'pth';
  if (ext === '.onnx') return 'onnx';
  throw new ConfigError('--to', to, 'must end in .safetensors, .pth, .pt or .onnx (or name the format with --format)');
}

/** Backbone tensors (reference names) in a file of `format`; `vit` is needed for ONNX. */
async function writeBackbone(to: string, format: WeightFormat, backbone: Record<string, NamedArray>, vit: VisionTransformer | null, meta: Record<string, string>, names: string): Promise<string> {
  if (format === 'safetensors') {
    const tensors = names === 'huggingface' ? toHuggingFaceNames(backbone) : backbone;
    writeFileAtomic(to, encodeSafetensors(tensors, meta));
    return `${Object.keys(tensors).length} tensors, ${names === 'huggingface' ? 'Hugging Face' : 'reference'} names`;
  }
  if (format === 'pth') {
    writeFileAtomic(to, writePth(backbone));
    return `${Object.keys(backbone).length} tensors, reference names; torch.load(f, weights_only=True) reads it`;
  }
  if (!vit) throw new ConfigError('--format', format, 'needs a Vision Transformer');
  writeFileAtomic(to, await exportOnnx(vit));
  return `ONNX opset 17, input images [batch, ${vit.inChans}, ${vit.imgSize[0]}, ${vit.imgSize[1]}], outputs cls and attention`;
}

export interface ConvertOptions {
  input: string;
  output: string;
  format?: string;
  key?: string;
  numHeads?: number;
  names: string;
}

/** `dino convert IN OUT`: any readable weights file to safetensors, pth or ONNX. */
export async function runConvert(o: ConvertOptions): Promise<number> {
  const format = formatFor(o.output, o.format);
  if (format === 'reference-checkpoint') throw new ConfigError('--format', format, 'is written from a run: dino export --out RUN --format reference-checkpoint');
  if (o.names !== 'reference' && o.names !== 'huggingface') throw new ConfigError('--names', o.names, 'must be reference or huggingface');
  checkOutputFile(o.output, { flag: 'OUT' });
  const file = readWeightsFile(o.input, o);
  // A ViT's tensors are checked by building it (missing, extra or misshapen tensors are refused):
  // a converted file must load where it goes.
  let vit: VisionTransformer | null = null;
  if (format === 'onnx' || 'cls_token' in file.backbone) {
    vit = loadModel(o.input, o).vit;
    if (format !== 'onnx') {
      vit.dispose();
      vit = null;
    }
  }
  try {
    const meta: Record<string, string> = { source: basename(o.input), ...(file.arch ? { arch: JSON.stringify(file.arch) } : {}) };
    const what = await writeBackbone(o.output, format, file.backbone, vit, meta, o.names);
    process.stdout.write(`Wrote ${o.output} (${format}: ${what})\n`);
  } finally {
    vit?.dispose();
  }
  return 0;
}

export interface ExportFormatOptions {
  dir: string;
  to: string;
  /** pth, onnx or reference-checkpoint (safetensors is eval-commands' runExport: no model to build). */
  format: WeightFormat;
  student: boolean;
}

/** `dino export --format pth | onnx | reference-checkpoint` of a run directory. */
export async function runExportFormat(o: ExportFormatOptions): Promise<number> {
  if (o.format === 'reference-checkpoint') {
    const { state, run } = readCheckpoint(o.dir);
    // The student's parameter order (the reference optimizer's numbering) from the run's own model.
    const trainer = new DinoTrainer({ ...trainerConfig(run.config, { channels: run.mean.length, imageSize: run.config.imageSize }, 1), itersPerEpoch: 1 });
    const groups = paramGroups(trainer.student.params());
    trainer.dispose();
    const itersPerEpoch = Math.max(1, Math.floor(run.config.trainSize ? run.config.trainSize / run.config.batchSize : 1));
    const epoch = run.epoch ?? Math.floor(run.iteration / itersPerEpoch);
    writeFileAtomic(o.to, writeReferenceCheckpoint(state.tensors, groups, { epoch }));
    process.stdout.write(`Wrote ${o.to}: main_dino.py's checkpoint (student, teacher, AdamW state, epoch ${epoch}, DINO center); put it in --output_dir as checkpoint.pth and run main_dino.py with the run's settings to continue\n`);
    return 0;
  }
  const teacher = loadTeacher(o.dir, o.student ? 'student' : 'teacher');
  try {
    if (!(teacher.backbone instanceof VisionTransformer) && o.format === 'onnx') throw new ConfigError('--format', 'onnx', 'exports Vision Transformers; this run trained a convnet');
    const tensors = await paramsToArrays(teacher.backbone.params());
    const meta = { ...backboneMetadata(teacher.run.config), source: `${o.student ? 'student' : 'teacher'} of dino-ts run at iteration ${teacher.run.iteration}` };
    const what = await writeBackbone(o.to, o.format, tensors, teacher.backbone instanceof VisionTransformer ? teacher.backbone : null, meta, 'reference');
    process.stdout.write(`Wrote the ${o.student ? 'student' : 'teacher'} backbone to ${o.to} (${o.format}: ${what})\n`);
  } finally {
    teacher.backbone.dispose();
  }
  return 0;
}
