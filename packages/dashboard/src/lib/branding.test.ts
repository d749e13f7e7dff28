import { describe, expect, it } from 'vitest';
import { contrastRatio, parseHex, readableOn, textOn } from './color.js';
import { defaultBranding, normalizeBranding, pageTitle, themeOf } from './branding.js';

describe('branding in the browser', () => {
  it('keeps what the server sent and refuses what would be unsafe or broken', () => {
    expect(normalizeBranding(null)).toEqual(defaultBranding);
    const b = normalizeBranding({
      name: 'Acme Cloud',
      logo_url: '/v1/branding/logo?v=1',
      favicon_url: 'javascript:alert(1)',
      primary_color: '#FF6600',
      font: 'Inter, sans-serif',
      footer: '© Acme',
      source: 'file',
      error: null,
    });
    expect(b).toEqual({
      name: 'Acme Cloud',
      logo_url: '/v1/branding/logo?v=1',
      favicon_url: null,
      primary_color: '#FF6600',
      font: 'Inter, sans-serif',
      footer: '© Acme',
      source: 'file',
      error: null,
    });
    expect(
      normalizeBranding({ primary_color: 'red', font: 'x;}body{', logo_url: '//evil.example/x.png' }),
    ).toMatchObject({ primary_color: '#4f46e5', font: null, logo_url: null, name: 'ShellWeGo' });
  });

  it('puts the brand in the title', () => {
    expect(pageTitle('Apps', 'Acme Cloud')).toBe('Apps · Acme Cloud');
    expect(pageTitle(null, 'Acme Cloud')).toBe('Acme Cloud');
  });

  it('picks readable text on the brand colour, and a brand colour readable on white', () => {
    expect(textOn('#4f46e5')).toBe('#ffffff');
    expect(textOn('#ffee00')).toBe('#111111');
    const white = parseHex('#ffffff');
    const yellow = readableOn('#ffee00');
    expect(white && parseHex(yellow) && contrastRatio(parseHex(yellow)!, white)).toBeGreaterThanOrEqual(4.5);
    // Already readable: unchanged.
    expect(readableOn('#1d4ed8')).toBe('#1d4ed8');
    expect(parseHex('#abc')).toEqual({ r: 0xaa, g: 0xbb, b: 0xcc });
    expect(parseHex('blue')).toBeNull();
  });

  it('themes the page from the branding', () => {
    const theme = themeOf({ ...defaultBranding, primary_color: '#ff6600', font: 'Inter' });
    expect(theme['--primary']).toBe('#ff6600');
    expect(theme['--on-primary']).toBe('#111111');
    expect(theme['--font']).toMatch(/^Inter, system-ui/);
    expect(
      contrastRatio(parseHex(theme['--primary-text'] ?? '')!, parseHex('#ffffff')!),
    ).toBeGreaterThanOrEqual(4.5);
  });
});
