/**
 * Colour maps for heat maps: viridis (the default of matplotlib's imsave, which the reference uses
 * for its attention maps) sampled every 16th entry of its 256-entry table, linearly interpolated;
 * and gray.
 */

// viridis entries 0, 16, ..., 240, 255 (van der Walt & Smith, CC0).
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [0.267004, 0.004874, 0.329415], [0.282327, 0.094955, 0.417331], [0.278826, 0.17549, 0.483397],
  [0.258965, 0.251537, 0.524736], [0.229739, 0.322361, 0.545706], [0.19943, 0.387607, 0.554642],
  [0.172719, 0.448791, 0.557885], [0.149039, 0.508051, 0.55725], [0.127568, 0.566949, 0.550556],
  [0.120638, 0.625828, 0.533488], [0.157851, 0.683765, 0.501686], [0.24607, 0.73891, 0.452024],
  [0.369214, 0.788888, 0.382914], [0.515992, 0.831158, 0.294279], [0.678489, 0.863742, 0.189503],
  [0.845561, 0.887322, 0.099702], [0.993248, 0.906157, 0.143936],
];
const VIRIDIS_POS = VIRIDIS.map((_, i) => Math.min(i * 16, 255) / 255);

export type ColormapName = 'viridis' | 'gray';

/** RGB (0..255) of value t in [0, 1] (clamped). */
export function colormap(t: number, name: ColormapName = 'viridis'): [number, number, number] {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1);
  if (name === 'gray') {
    const v = Math.round(x * 255);
    return [v, v, v];
  }
  let i = 0;
  while (i < VIRIDIS_POS.length - 2 && x > VIRIDIS_POS[i + 1]) i++;
  const f = (x - VIRIDIS_POS[i]) / (VIRIDIS_POS[i + 1] - VIRIDIS_POS[i]);
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map((c) => Math.round(255 * (a[c] + f * (b[c] - a[c])))) as [number, number, number];
}
