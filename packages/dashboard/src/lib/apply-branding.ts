import { pageTitle, themeOf } from './branding.js';
import type { Branding } from './branding.js';

const DEFAULT_ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='7' fill='%234f46e5'/%3E%3Cpath d='M9 21l7-11 7 11z' fill='white'/%3E%3C/svg%3E";

/** Applies the branding to the document: colours and font as CSS variables, the favicon and the title. */
export function applyBranding(b: Branding, page: string | null): void {
  const root = document.documentElement;
  for (const [k, v] of Object.entries(themeOf(b))) root.style.setProperty(k, v);
  document.title = pageTitle(page, b.name);
  let icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!icon) {
    icon = document.createElement('link');
    icon.rel = 'icon';
    document.head.appendChild(icon);
  }
  const href = b.favicon_url ?? DEFAULT_ICON;
  if (icon.getAttribute('href') !== href) icon.href = href;
  const theme = document.querySelector<HTMLMetaElement>('meta[name="theme-color"]');
  if (theme) theme.content = b.primary_color;
}
