import { parseHex, readableOn, textOn } from './color.js';

/** `GET /v1/branding`: the operator's white-label settings (see the control plane's services/branding.ts). */
export interface Branding {
  name: string;
  logo_url: string | null;
  favicon_url: string | null;
  primary_color: string;
  font: string | null;
  footer: string | null;
  source: 'file' | 'default';
  error: string | null;
}

export const defaultBranding: Branding = {
  name: 'ShellWeGo',
  logo_url: null,
  favicon_url: null,
  primary_color: '#4f46e5',
  font: null,
  footer: null,
  source: 'default',
  error: null,
};

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);
const safeUrl = (v: unknown): string | null => {
  const s = str(v);
  return s !== null && /^(https?:\/\/|data:image\/|\/(?!\/))/i.test(s) ? s : null;
};

/** The server's answer checked field by field; anything missing or odd falls back to the default. */
export function normalizeBranding(raw: unknown): Branding {
  if (typeof raw !== 'object' || raw === null) return defaultBranding;
  const o = raw as Record<string, unknown>;
  const color = str(o.primary_color);
  const font = str(o.font);
  return {
    name: str(o.name)?.slice(0, 80) ?? defaultBranding.name,
    logo_url: safeUrl(o.logo_url),
    favicon_url: safeUrl(o.favicon_url),
    primary_color: color !== null && parseHex(color) ? color : defaultBranding.primary_color,
    font: font !== null && /^[\w\s,"'-]+$/.test(font) ? font : null,
    footer: str(o.footer),
    source: o.source === 'file' ? 'file' : 'default',
    error: str(o.error),
  };
}

export const SYSTEM_FONT =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';

/** The CSS custom properties the stylesheet reads. */
export function themeOf(b: Branding): Record<string, string> {
  return {
    '--primary': b.primary_color,
    '--on-primary': textOn(b.primary_color),
    // Links, focus rings and outlines in the brand colour, adjusted to read on the white page.
    '--primary-text': readableOn(b.primary_color, '#ffffff', 4.5),
    '--font': b.font ? `${b.font}, ${SYSTEM_FONT}` : SYSTEM_FONT,
  };
}

/** "Apps · Acme Cloud"; the brand alone on pages without a name of their own. */
export function pageTitle(page: string | null, brand: string): string {
  return page ? `${page} · ${brand}` : brand;
}
