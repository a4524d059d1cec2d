/** Small DOM helpers: elements, canvases from RGBA pictures, number formats. */
import type { RgbaImage } from '@dino-ts/eval';

type Attrs = Record<string, string | number | boolean | undefined>;

/** `h('p', { class: 'note' }, 'text', child)`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | null | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) el.append(c);
  return el;
}

/** The element with this id, typed; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
}

/** Draws an RGBA picture at its own size (CSS scales it, pixelated). */
export function drawInto(canvas: HTMLCanvasElement, img: RgbaImage): HTMLCanvasElement {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2-D canvas context');
  ctx.putImageData(new ImageData(img.data, img.width, img.height), 0, 0);
  return canvas;
}

/** A new canvas showing `img`, with an accessible label (none: hidden from assistive technology, a parent labels it). */
export function canvasOf(img: RgbaImage, label: string, className = 'pic'): HTMLCanvasElement {
  const attrs = label ? { class: className, role: 'img', 'aria-label': label } : { class: className, 'aria-hidden': 'true' };
  return drawInto(h('canvas', attrs), img);
}

/**
 * A picture with a see-through layer over it (the attention mask over the input): two stacked
 * canvases, so the layer's pixels stay readable on their own.
 */
export function stacked(base: RgbaImage, layer: RgbaImage, label: string, layerClass: string): HTMLElement {
  return h('div', { class: 'stack', role: 'img', 'aria-label': label }, canvasOf(base, '', 'pic base'), canvasOf(layer, '', `pic layer ${layerClass}`));
}

/** A captioned figure. */
export function figure(content: Node, caption: string | Node): HTMLElement {
  return h('figure', {}, content, h('figcaption', {}, caption));
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function percent(x: number, digits = 1): string {
  return `${x.toFixed(digits)}%`;
}

/** Saves bytes as a file through a temporary link. */
export function download(bytes: ArrayBuffer, name: string, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
