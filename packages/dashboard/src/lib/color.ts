// Colour arithmetic for the branding's primary colour: pure, so it runs in unit tests without a browser.

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

/** `#abc` or `#aabbcc` (any case) to RGB; null for anything else. */
export function parseHex(hex: string): Rgb | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m?.[1]) return null;
  const digits = m[1].length === 3 ? [...m[1]].map((c) => c + c).join('') : m[1];
  const n = Number.parseInt(digits, 16);
  return { r: (n >> 16) & 255, g: (n >> 8) & 255, b: n & 255 };
}

export function toHex({ r, g, b }: Rgb): string {
  return `#${[r, g, b]
    .map((v) =>
      Math.round(Math.min(255, Math.max(0, v)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** WCAG 2 relative luminance. */
export function luminance({ r, g, b }: Rgb): number {
  const lin = (v: number): number => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG 2 contrast ratio of two colours, 1..21. */
export function contrastRatio(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const WHITE: Rgb = { r: 255, g: 255, b: 255 };
const BLACK: Rgb = { r: 0, g: 0, b: 0 };

/** Text on a `background` button or bar: white or near-black, whichever reads better. */
export function textOn(background: string): string {
  const bg = parseHex(background) ?? BLACK;
  return contrastRatio(bg, WHITE) >= contrastRatio(bg, BLACK) ? '#ffffff' : '#111111';
}

/**
 * `color` darkened (on a light background) or lightened (on a dark one) just enough for `ratio` against
 * `background` (4.5 is WCAG AA for body text), so links and outlines in the brand colour stay readable.
 */
export function readableOn(color: string, background = '#ffffff', ratio = 4.5): string {
  const bg = parseHex(background) ?? WHITE;
  const start = parseHex(color);
  if (!start) return textOn(background);
  const target = luminance(bg) > 0.5 ? BLACK : WHITE;
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const mixed: Rgb = {
      r: start.r + (target.r - start.r) * t,
      g: start.g + (target.g - start.g) * t,
      b: start.b + (target.b - start.b) * t,
    };
    const rounded = parseHex(toHex(mixed)) ?? mixed;
    if (contrastRatio(rounded, bg) >= ratio) return toHex(rounded);
  }
  return toHex(target);
}
