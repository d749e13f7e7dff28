/** A round upper bound for a chart's y axis: 0.8 → 1, 7 → 10, 130 → 200. */
export function niceMax(v: number): number {
  if (!Number.isFinite(v) || v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export interface Frame {
  minX: number;
  maxX: number;
  maxY: number;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where one point lands in the frame, in SVG units. */
export function chartPoint([x, y]: readonly [number, number], f: Frame): { x: number; y: number } {
  const spanX = f.maxX - f.minX || 1;
  return {
    x: f.left + ((x - f.minX) / spanX) * f.width,
    y: f.top + (1 - Math.min(y, f.maxY) / (f.maxY || 1)) * f.height,
  };
}

/** An SVG path through the points, scaled into the frame (one point draws a flat line). */
export function chartPath(points: readonly (readonly [number, number])[], f: Frame): string {
  if (points.length === 0) return '';
  const at = (p: readonly [number, number]): string => {
    const { x, y } = chartPoint(p, f);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  };
  const first = points[0];
  if (points.length === 1 && first) {
    const y = at(first).split(',')[1] ?? '0';
    return `M${f.left},${y}L${f.left + f.width},${y}`;
  }
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${at(p)}`).join('');
}
