// Node only (node:fs, node:path, and sharp, a native module): exported from '@dino-ts/data/node'.
// A browser builds data sets from decoded pixels instead: see image-data.ts.
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve } from 'node:path';
import type SharpDefault from 'sharp';
import { ConfigError, ShapeError, checkChoice, checkInt } from '@dino-ts/core';
import { checkIndex, collate } from '../collate';
import { DataError } from '../errors';
import { ByteLruCache } from '../lru-cache';
import type { Batch, DataItem, Dataset } from '../types';

export type FitMode = 'cover' | 'fill' | 'contain';

export interface ImageFolderOptions {
  /** Output size in pixels: a number (square) or [height, width]. Required. */
  size: number | readonly [number, number];
  /**
   * How an image reaches that size: 'cover' scales it to cover the box and crops the centre
   * (keeps the aspect ratio; the usual Resize + CenterCrop); 'fill' stretches it to the box
   * exactly; 'contain' fits it inside and pads with `background`.
   */
  fit?: FitMode;
  /** 3: RGB (grayscale images replicated to three channels); 1: everything converted to grayscale. */
  channels?: 1 | 3;
  /** Colour that transparent pixels are flattened onto (and 'contain' pads with). */
  background?: string;
  /** A file that cannot be decoded: 'skip' it and list it once in a warning, or throw ('error'). */
  onError?: 'skip' | 'error';
  /**
   * When to find unreadable files: 'decode' decodes every image while opening (exact, and the
   * decoded images fill the cache); 'header' reads only each header while opening (fast for big
   * folders; a file whose body is corrupt is found when first read).
   */
  verify?: 'decode' | 'header';
  /**
   * 'classes': one sub-folder per class (searched recursively), labels by sorted folder name;
   * 'flat': every image under the root, unlabeled; 'auto': 'classes' when any sub-folder holds
   * images, else 'flat'.
   */
  layout?: 'auto' | 'classes' | 'flat';
  /** File name endings to read (lower case, with the dot). */
  extensions?: readonly string[];
  /** Memory for decoded images, in bytes (least recently used are dropped). */
  cacheBytes?: number;
  /** Images decoded at the same time while opening. */
  concurrency?: number;
  /** Receives warnings (skipped files, ignored files); default console.warn. */
  warn?: (message: string) => void;
}

export const IMAGE_FOLDER_DEFAULTS = {
  fit: 'cover' as FitMode,
  channels: 3 as 1 | 3,
  background: '#ffffff',
  onError: 'skip' as 'skip' | 'error',
  verify: 'decode' as 'decode' | 'header',
  layout: 'auto' as 'auto' | 'classes' | 'flat',
  extensions: ['.jpg', '.jpeg', '.png', '.webp'] as readonly string[],
  cacheBytes: 512 * 1024 * 1024,
  concurrency: 4,
};

/** A file that was left out, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

type Sharp = typeof SharpDefault;
let sharpPromise: Promise<Sharp> | null = null;

/**
 * sharp, loaded on first use: it is an optional peer dependency (a native module), so importing
 * '@dino-ts/data/node' for the IDX / CIFAR loaders works without it; only opening an image
 * folder needs it, and then the error says how to get it.
 */
function loadSharp(): Promise<Sharp> {
  sharpPromise ??= import('sharp')
    .then((m) => ((m as { default?: Sharp }).default ?? (m as unknown as Sharp)))
    .catch((e) => {
      sharpPromise = null; // let a later call retry, e.g. after installing it
      throw new DataError(
        `image folders are decoded with the npm package "sharp", which cannot be loaded (npm install sharp): ${(e as Error).message}`,
      );
    });
  return sharpPromise;
}

/** Unreadable files tried in a row, with onError 'skip', before giving up on an item. */
const MAX_SUBSTITUTES = 4;

interface Entry {
  file: string;
  label: number;
  /** What the file is, whatever path reached it: device and inode (or the path, if it cannot be read). */
  id: string;
  /** Bytes (-1 when unknown), to find copies cheaply: only files of equal size are compared. */
  size: number;
}

/** An image file found while listing a folder. */
type Listed = Omit<Entry, 'label'>;

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The identity of a file or folder, whatever path reaches it (links, bind mounts, hard links). */
async function identity(path: string): Promise<{ id: string; dir: boolean; size: number } | null> {
  try {
    const st = await stat(path, { bigint: true });
    return { id: `${st.dev}:${st.ino}`, dir: st.isDirectory(), size: Number(st.size) };
  } catch {
    return null;
  }
}

/**
 * Image files under `dir`, recursively, sorted; hidden entries (leading dot) are ignored.
 * Symbolic links are followed, but each folder is listed once (`seen` holds the folders'
 * identities): a link to a folder already listed, an ancestor above all, is skipped, so a link
 * loop ends instead of listing the same images without end.
 */
async function listImages(dir: string, exts: readonly string[], seen: Set<string>): Promise<Listed[]> {
  const out: Listed[] = [];
  const entries = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  for (const name of entries) {
    const path = join(dir, name);
    const who = await identity(path);
    if (who?.dir) {
      if (seen.has(who.id)) continue;
      seen.add(who.id);
      out.push(...(await listImages(path, exts, seen)));
    } else if (exts.includes(extname(name).toLowerCase())) {
      // A broken link stays in the list: decoding it fails and reports it, as for a corrupt file.
      out.push({ file: path, id: who?.id ?? `path:${path}`, size: who?.size ?? -1 });
    }
  }
  return out;
}

/** `entries` with each file kept once (its first path), and the paths dropped as repeats. */
function keepOnce<E extends Listed>(entries: E[]): { kept: E[]; repeats: { file: string; first: string }[] } {
  const first = new Map<string, string>();
  const kept: E[] = [];
  const repeats: { file: string; first: string }[] = [];
  for (const e of entries) {
    const seenAt = first.get(e.id);
    if (seenAt === undefined) {
      first.set(e.id, e.file);
      kept.push(e);
    } else {
      repeats.push({ file: e.file, first: seenAt });
    }
  }
  return { kept, repeats };
}

async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T, k: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      await fn(items[k], k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function listNames(files: readonly SkippedFile[], root: string, max = 20): string {
  const shown = files.slice(0, max).map((s) => `  ${relative(root, s.file)}: ${s.reason}`);
  if (files.length > max) shown.push(`  ... and ${files.length - max} more`);
  return shown.join('\n');
}

interface DecodeSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  fit: FitMode;
  background: string;
}

/** Decodes and resizes one file to HWC bytes. */
async function decodeImage(file: string, spec: DecodeSpec): Promise<Uint8Array> {
  const { height, width, channels, fit, background } = spec;
  const sharp = await loadSharp();
  const { data, info } = await sharp(file)
    .rotate() // apply the EXIF orientation
    .flatten({ background })
    .resize(width, height, { fit, background, position: 'centre' })
    .toColourspace(channels === 3 ? 'srgb' : 'b-w')
    .raw({ depth: 'uchar' }) // 16-bit sources are scaled to 8 bits
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new ShapeError(`${file} decoded to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x${channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Checks every file ('decode': full decode, 'header': header only). Returns the readable
 * entries, the unreadable files, and the decoded images (by kept index) that fit in `budget`.
 */
async function verifyFiles(
  entries: Entry[],
  spec: DecodeSpec,
  verify: 'decode' | 'header',
  concurrency: number,
  budget: number,
): Promise<{ kept: Entry[]; bad: SkippedFile[]; decoded: Map<number, Uint8Array> }> {
  const bad: SkippedFile[] = [];
  const images = new Array<Uint8Array | undefined>(entries.length);
  const ok = new Array<boolean>(entries.length).fill(true);
  let used = 0;
  await runPool(entries, concurrency, async (e, k) => {
    try {
      if (verify === 'decode') {
        const img = await decodeImage(e.file, spec);
        if (used + img.byteLength <= budget) {
          images[k] = img;
          used += img.byteLength;
        }
      } else {
        const meta = await (await loadSharp())(e.file).metadata();
        if (!meta.width || !meta.height) throw new Error('no image size in the header');
      }
    } catch (err) {
      ok[k] = false;
      bad.push({ file: e.file, reason: (err as Error).message.split('\n')[0] });
    }
  });
  bad.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const kept: Entry[] = [];
  const decoded = new Map<number, Uint8Array>();
  entries.forEach((e, k) => {
    if (!ok[k]) return;
    const img = images[k];
    if (img) decoded.set(kept.length, img);
    kept.push(e);
  });
  return { kept, bad, decoded };
}

/**
 * Images from a folder: one sub-folder per class (like torchvision's ImageFolder), or a flat
 * folder of unlabeled images. JPEG, PNG and WebP files are decoded with sharp (EXIF orientation
 * applied, alpha flattened onto `background`, 16-bit images reduced to 8 bits, grayscale
 * replicated to RGB or kept as one channel) and resized to `size` by `fit`. Decoding is
 * asynchronous; decoded images are cached (LRU, `cacheBytes`).
 *
 * @example
 * const flowers = await ImageFolderDataset.open('../flowers', { size: 64, fit: 'cover' });
 * flowers.classNames;            // the sub-folder names, sorted
 * const item = await flowers.get(0); // { image: Uint8Array 64*64*3, label }
 */
export class ImageFolderDataset implements Dataset {
  readonly name: string;
  readonly length: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Files left out while opening (unreadable), and files found unreadable later. */
  readonly skipped: SkippedFile[] = [];
  private readonly cache: ByteLruCache<number>;
  private readonly pending = new Map<number, Promise<Uint8Array>>();
  private readonly reported = new Set<string>();

  private constructor(
    readonly root: string,
    private readonly entries: Entry[],
    classNames: string[],
    private readonly opts: Required<Omit<ImageFolderOptions, 'size' | 'warn'>> & { warn: (m: string) => void },
    private readonly decodeSpec: DecodeSpec,
  ) {
    this.name = `folder:${basename(root)}`;
    this.length = entries.length;
    this.height = decodeSpec.height;
    this.width = decodeSpec.width;
    this.channels = decodeSpec.channels;
    this.classNames = classNames;
    this.numClasses = classNames.length;
    this.cache = new ByteLruCache(opts.cacheBytes);
  }

  /** Scans `root`, checks the files (see `verify`) and returns the data set. */
  static async open(root: string, options: ImageFolderOptions): Promise<ImageFolderDataset> {
    const o = { ...IMAGE_FOLDER_DEFAULTS, warn: (m: string) => console.warn(m), ...options };
    if (o.size === undefined) throw new ConfigError('size', undefined, 'is required: a number (square) or [height, width]');
    const [height, width] = typeof o.size === 'number' ? [o.size, o.size] : o.size;
    checkInt('size (height)', height, 1, 16384);
    checkInt('size (width)', width, 1, 16384);
    checkChoice('fit', o.fit, ['cover', 'fill', 'contain']);
    checkChoice('onError', o.onError, ['skip', 'error']);
    checkChoice('verify', o.verify, ['decode', 'header']);
    checkChoice('layout', o.layout, ['auto', 'classes', 'flat']);
    if (o.channels !== 1 && o.channels !== 3) throw new ConfigError('channels', o.channels, 'must be 1 (grayscale) or 3 (RGB)');
    checkInt('cacheBytes', o.cacheBytes, 0);
    checkInt('concurrency', o.concurrency, 1, 256);
    const exts = o.extensions.map((e) => e.toLowerCase());
    // Before any file is tried: a missing sharp must not read as "every image is unreadable".
    await loadSharp();

    const dir = resolve(root);
    let st;
    try {
      st = await stat(dir);
    } catch {
      throw new DataError(`image folder ${dir} does not exist: pass the path of a folder of images (one sub-folder per class, or flat)`, dir);
    }
    if (!st.isDirectory()) {
      throw new DataError(`${dir} is a file, not a folder: pass the folder that holds the images (one sub-folder per class, or flat)`, dir);
    }
    const top = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
    if (top.length === 0) throw new DataError(`image folder ${dir} is empty: put images in it (one sub-folder per class, or flat)`, dir);

    const subdirs: string[] = [];
    const rootFiles: string[] = [];
    for (const name of top) {
      const path = join(dir, name);
      if (await isDir(path)) subdirs.push(name);
      else if (exts.includes(extname(name).toLowerCase())) rootFiles.push(path);
    }
    // The root counts as listed for every class: a link back up to it is never followed.
    const rootId = (await identity(dir))?.id ?? `path:${dir}`;
    const classListing = async (s: string) => {
      const self = await identity(join(dir, s));
      return listImages(join(dir, s), exts, new Set([rootId, ...(self ? [self.id] : [])]));
    };
    const perClass = await Promise.all(subdirs.map(classListing));
    const classesHaveImages = perClass.some((f) => f.length > 0);
    const layout = o.layout === 'auto' ? (classesHaveImages ? 'classes' : 'flat') : o.layout;

    let entries: Entry[];
    let classNames: string[];
    let repeats: { file: string; first: string }[];
    if (layout === 'classes') {
      if (subdirs.length === 0) {
        throw new DataError(`image folder ${dir} has no sub-folders, but layout 'classes' needs one sub-folder per class (or use layout 'flat')`, dir);
      }
      classNames = subdirs;
      // A file reached from two classes (a linked folder or file) keeps its first class only:
      // one image must not be two items, let alone with two labels.
      ({ kept: entries, repeats } = keepOnce(perClass.flatMap((files, label) => files.map((f) => ({ ...f, label })))));
      const empty = subdirs.filter((_, k) => !entries.some((e) => e.label === k));
      if (empty.length > 0) o.warn(`image folder ${dir}: class folder(s) with no images: ${empty.join(', ')}`);
      if (rootFiles.length > 0) {
        o.warn(`image folder ${dir}: ${rootFiles.length} image(s) directly in the root are ignored (not in a class folder), e.g. ${basename(rootFiles[0])}`);
      }
    } else {
      classNames = [];
      ({ kept: entries, repeats } = keepOnce((await listImages(dir, exts, new Set([rootId]))).map((f) => ({ ...f, label: -1 }))));
    }
    if (repeats.length > 0) {
      o.warn(
        `image folder ${dir}: ${repeats.length} image path(s) lead to a file already listed (symbolic or hard links) and are left out, ` +
          `e.g. ${relative(dir, repeats[0].file)} (the same file as ${relative(dir, repeats[0].first)})`,
      );
    }
    if (entries.length === 0) {
      throw new DataError(
        `image folder ${dir} holds no images with extensions ${exts.join(', ')} (found: ${top.slice(0, 5).join(', ')}${top.length > 5 ? ', ...' : ''})`,
        dir,
      );
    }

    const spec: DecodeSpec = { height, width, channels: o.channels, fit: o.fit, background: o.background };
    const checked = await verifyFiles(entries, spec, o.verify, o.concurrency, o.cacheBytes);
    const { bad } = checked;
    if (bad.length > 0) {
      if (o.onError === 'error' || bad.length === entries.length) {
        throw new DataError(
          `image folder ${dir}: cannot decode ${bad[0].file} (${bad[0].reason}); ` +
            `${bad.length} of ${entries.length} image file(s) unreadable:\n${listNames(bad, dir)}\n` +
            (bad.length === entries.length
              ? 'No image could be read: check that these are JPEG, PNG or WebP files.'
              : "Remove or fix them, or open with { onError: 'skip' } to leave them out."),
          bad[0].file,
        );
      }
      o.warn(`image folder ${dir}: skipped ${bad.length} unreadable file(s):\n${listNames(bad, dir)}`);
    }
    const ds = new ImageFolderDataset(dir, checked.kept, classNames, { ...o, extensions: exts }, spec);
    ds.skipped.push(...bad);
    for (const b of bad) ds.reported.add(b.file);
    checked.decoded.forEach((img, k) => ds.cache.set(k, img));
    return ds;
  }

  /** Paths of the files, in item order. */
  get files(): readonly string[] {
    return this.entries.map((e) => e.file);
  }

  /**
   * The items of `others` that are the same image as some item of `base` (indices of this data
   * set): the same file (by device and inode, whatever path reached it) or a byte-identical copy.
   * Only files of equal size are read and hashed, so this costs little on real folders. Returns
   * pairs (the item of `others`, the item of `base` it repeats). For a held-out split, whose
   * images must never be training images.
   */
  async repeatsAcross(base: ArrayLike<number>, others: ArrayLike<number>): Promise<{ item: number; same: number }[]> {
    const byId = new Map<string, number>();
    const bySize = new Map<number, number[]>();
    for (const i of Array.from(base)) {
      const e = this.entries[i];
      byId.set(e.id, i);
      if (e.size >= 0) bySize.set(e.size, [...(bySize.get(e.size) ?? []), i]);
    }
    const hashes = new Map<number, Promise<string | null>>();
    const hash = (i: number) => {
      let h = hashes.get(i);
      if (!h) {
        h = readFile(this.entries[i].file).then(
          (b) => createHash('sha256').update(b).digest('hex'),
          () => null,
        );
        hashes.set(i, h);
      }
      return h;
    };
    const out: { item: number; same: number }[] = [];
    for (const i of Array.from(others)) {
      const e = this.entries[i];
      const same = byId.get(e.id);
      if (same !== undefined) {
        out.push({ item: i, same });
        continue;
      }
      const candidates = e.size >= 0 ? bySize.get(e.size) : undefined;
      if (!candidates) continue;
      const mine = await hash(i);
      if (mine === null) continue;
      for (const j of candidates) {
        if ((await hash(j)) === mine) {
          out.push({ item: i, same: j });
          break;
        }
      }
    }
    return out;
  }

  /** Decoded bytes of item i, from the cache or decoded now (one decode per item at a time). */
  private async image(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) return hit;
    const inflight = this.pending.get(i);
    if (inflight) return inflight;
    const p = this.decodeOrSubstitute(i).finally(() => this.pending.delete(i));
    this.pending.set(i, p);
    return p;
  }

  /**
   * With verify 'header' a corrupt body shows up only now. 'error' throws naming the file;
   * 'skip' warns once per file and uses the next readable image, so an epoch keeps its length.
   * Several unreadable files in a row mean something else is wrong (a folder moved away): throw.
   */
  private async decodeOrSubstitute(i: number): Promise<Uint8Array> {
    const failed: SkippedFile[] = [];
    for (let k = i; failed.length < Math.min(MAX_SUBSTITUTES, this.length); k = (k + 1) % this.length) {
      const file = this.entries[k].file;
      try {
        const img = await decodeImage(file, this.decodeSpec);
        this.cache.set(k, img);
        return img;
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0];
        if (this.opts.onError === 'error') {
          throw new DataError(`image folder ${this.root}: cannot decode ${file} (${reason}); remove or fix it, or use { onError: 'skip' }`, file);
        }
        failed.push({ file, reason });
        if (!this.reported.has(file)) {
          this.reported.add(file);
          this.skipped.push({ file, reason });
          this.opts.warn(`image folder ${this.root}: cannot decode ${relative(this.root, file)} (${reason}); using the next readable image in its place`);
        }
      }
    }
    throw new DataError(
      `image folder ${this.root}: ${failed.length} files in a row from item ${i} cannot be decoded ` +
        `(was the folder moved or deleted while in use?):\n${listNames(failed, this.root)}`,
      failed[0].file,
    );
  }

  /** Item i sharing the cached bytes (callers must not modify the image). */
  private async itemShared(i: number): Promise<DataItem> {
    checkIndex(this, i);
    const image = await this.image(i);
    const label = this.entries[i].label;
    return label >= 0 ? { image, label } : { image };
  }

  async get(i: number): Promise<DataItem> {
    const item = await this.itemShared(i);
    return { ...item, image: item.image.slice() };
  }

  /** Decodes the batch's images concurrently (sharp works on libuv's thread pool). */
  async getBatch(indices: ArrayLike<number>): Promise<Batch> {
    const items = await Promise.all(Array.from(indices, (i) => this.itemShared(i)));
    return collate(this, items, indices);
  }
}

/**
 * `ImageFolderDataset.open(dir, options)` with the folder inside the options object.
 *
 * @example
 * const ds = await loadImageFolder({ dir: '../photos', size: 64 });
 */
export function loadImageFolder(options: ImageFolderOptions & { dir: string }): Promise<ImageFolderDataset> {
  const { dir, ...rest } = options;
  return ImageFolderDataset.open(dir, rest);
}
