import { useId } from 'react';
import { chartPath, chartPoint, niceMax } from '../lib/chart-math.js';

export interface Series {
  name: string;
  /** [x (ms since epoch, or an index), y] */
  points: readonly (readonly [number, number])[];
  /** A CSS colour; the first series uses the brand's. */
  color?: string;
}

/** A small line chart in SVG, with a text summary for screen readers and a legend. */
export function LineChart({
  title,
  unit,
  series,
  format = (v) => String(Math.round(v * 100) / 100),
  domain,
}: {
  title: string;
  unit: string;
  series: readonly Series[];
  format?: (v: number) => string;
  /** The x range to draw (a time window), rather than the points' own; a lone point then shows as a dot. */
  domain?: readonly [number, number];
}) {
  const id = useId();
  const W = 320;
  const H = 120;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [minX, maxX] = domain ?? [Math.min(...xs), Math.max(...xs)];
  const maxY = niceMax(Math.max(0, ...ys));
  const latest = series.map((s) => `${s.name} ${format(s.points.at(-1)?.[1] ?? 0)} ${unit}`).join(', ');
  return (
    <figure className="chart">
      <figcaption id={id}>
        {title} <span className="muted">({unit})</span>
      </figcaption>
      {all.length === 0 ? (
        <p className="muted">No samples yet.</p>
      ) : (
        <>
          <svg viewBox={`0 0 ${W} ${H + 16}`} role="img" aria-labelledby={id} aria-describedby={`${id}-d`}>
            <desc id={`${id}-d`}>Latest: {latest}.</desc>
            {[0, 0.5, 1].map((f) => (
              <g key={f}>
                <line x1="30" x2={W} y1={8 + (1 - f) * (H - 8)} y2={8 + (1 - f) * (H - 8)} className="grid" />
                <text x="0" y={12 + (1 - f) * (H - 8)} className="axis">
                  {format(maxY * f)}
                </text>
              </g>
            ))}
            {series.map((s, i) => {
              const frame = { minX, maxX, maxY, left: 30, top: 8, width: W - 30, height: H - 8 };
              const color = s.color ?? (i === 0 ? 'var(--primary-text)' : '#6b7280');
              const only = s.points.length === 1 ? s.points[0] : undefined;
              if (domain !== undefined && only !== undefined) {
                const { x, y } = chartPoint(only, frame);
                return <circle key={s.name} cx={x} cy={y} r="2.5" className="dot" style={{ fill: color }} />;
              }
              return (
                <path
                  key={s.name}
                  d={chartPath(s.points, frame)}
                  className="line"
                  style={{ stroke: color }}
                  strokeDasharray={i === 0 ? undefined : '4 3'}
                />
              );
            })}
          </svg>
          <ul className="legend">
            {series.map((s, i) => (
              <li key={s.name}>
                <span
                  aria-hidden="true"
                  className={i === 0 ? 'swatch' : 'swatch swatch-dashed'}
                  style={{ borderColor: s.color ?? (i === 0 ? 'var(--primary-text)' : '#6b7280') }}
                />
                {s.name}: {format(s.points.at(-1)?.[1] ?? 0)} {unit}
              </li>
            ))}
          </ul>
        </>
      )}
    </figure>
  );
}
