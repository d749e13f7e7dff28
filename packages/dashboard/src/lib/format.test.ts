import { describe, expect, it } from 'vitest';
import {
  duration,
  envToLines,
  formatBytes,
  formatCpu,
  joinCommand,
  logMatcher,
  parseEnvLines,
  pushSample,
  relativeTime,
  toneOf,
  wsUrl,
} from './format.js';
import { chartPath, chartPoint, niceMax } from './chart-math.js';
import { matchPath } from './paths.js';

describe('formatting', () => {
  it('writes sizes and CPUs as people read them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(-1)).toBe('–');
    expect(formatCpu(250)).toBe('0.25 CPU');
    expect(formatCpu(500)).toBe('0.5 CPU');
    expect(formatCpu(2000)).toBe('2 CPU');
    expect(formatCpu(1500)).toBe('1.5 CPU');
  });

  it('says how long ago, and how long something took', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(relativeTime('2026-01-01T11:59:55Z', now)).toBe('just now');
    expect(relativeTime('2026-01-01T11:55:00Z', now)).toBe('5 min ago');
    expect(relativeTime('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-01-03T12:00:00Z', now)).toBe('in 2 d');
    expect(relativeTime(null, now)).toBe('never');
    expect(duration('2026-01-01T12:00:00Z', '2026-01-01T12:00:02.5Z')).toBe('2.5 s');
    expect(duration('2026-01-01T12:00:00Z', '2026-01-01T12:03:04Z')).toBe('3 min 4 s');
    expect(duration('2026-01-01T12:00:00Z', null)).toBe('–');
  });

  it('gives each status a tone', () => {
    expect(toneOf('running')).toBe('ok');
    expect(toneOf('health_checking')).toBe('busy');
    expect(toneOf('rolled_back')).toBe('bad');
    expect(toneOf('stopped')).toBe('idle');
  });
});

describe('helpers', () => {
  it('builds WebSocket URLs and the join command', () => {
    expect(wsUrl('http://127.0.0.1:8080', '/v1/events?since=3')).toBe(
      'ws://127.0.0.1:8080/v1/events?since=3',
    );
    expect(wsUrl('https://paas.example.com', '/v1/events')).toBe('wss://paas.example.com/v1/events');
    expect(joinCommand('https://paas.example.com', 'swgj_x')).toBe(
      'shellwego agent --join https://paas.example.com --token swgj_x',
    );
  });

  it('searches logs by text or by /regular expression/', () => {
    expect(logMatcher('')('anything')).toBe(true);
    expect(logMatcher('GET /')('"GET / HTTP/1.1" 200')).toBe(true);
    expect(logMatcher('error')('All fine')).toBe(false);
    expect(logMatcher('ERROR')('an error')).toBe(true);
    expect(logMatcher('/^GET \\/\\S+ 50\\d/')('GET /x 503')).toBe(true);
    expect(logMatcher('/^get/')('GET /')).toBe(false);
    expect(logMatcher('/^get/i')('GET /')).toBe(true);
    // An unfinished expression is plain text, not an exception.
    expect(logMatcher('/[a/')('x /[a/ y')).toBe(true);
  });

  it('reads and writes env lines', () => {
    expect(parseEnvLines('A=1\n# note\n\nB = two=2\nC=')).toEqual({
      env: { A: '1', B: ' two=2', C: '' },
      errors: [],
    });
    expect(parseEnvLines('1X=1\nnovalue').errors).toEqual([
      'line 1: expected NAME=value with a name of letters, digits and _',
      'line 2: expected NAME=value with a name of letters, digits and _',
    ]);
    expect(envToLines({ A: '1', B: 'x y' })).toBe('A=1\nB=x y');
  });

  it('keeps a bounded series', () => {
    expect(pushSample([1, 2, 3], 4, 3)).toEqual([2, 3, 4]);
    expect(pushSample([], 1)).toEqual([1]);
  });

  it('matches routes', () => {
    expect(matchPath('/apps/:app/:tab?', '/apps/web')).toEqual({ app: 'web' });
    expect(matchPath('/apps/:app/:tab?', '/apps/web/logs')).toEqual({ app: 'web', tab: 'logs' });
    expect(matchPath('/apps/:app/:tab?', '/apps/web/logs/x')).toBeNull();
    expect(matchPath('/apps/:app/:tab?', '/nodes')).toBeNull();
  });

  it('scales charts', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0.8)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(130)).toBe(200);
    const frame = { minX: 0, maxX: 10, maxY: 10, left: 0, top: 0, width: 100, height: 50 };
    expect(
      chartPath(
        [
          [0, 0],
          [10, 10],
        ],
        frame,
      ),
    ).toBe('M0.0,50.0L100.0,0.0');
    expect(chartPath([[5, 5]], frame)).toBe('M0,25.0L100,25.0');
    expect(chartPath([], frame)).toBe('');
    expect(chartPoint([5, 5], frame)).toEqual({ x: 50, y: 25 });
  });
});
