import { describe, expect, it } from 'vitest';
import { plan } from './plan.js';
import type { ActualInstance, DesiredInstance } from './plan.js';

const spec = (image: string, memory = 256) => ({ image, resources: { memory, cpu: 500 } });
const want = (
  instanceId: string,
  s: unknown,
  restartPolicy?: DesiredInstance['restartPolicy'],
): DesiredInstance => (restartPolicy ? { instanceId, spec: s, restartPolicy } : { instanceId, spec: s });
const have = (
  instanceId: string,
  s: unknown,
  state: ActualInstance['state'] = 'running',
  exitCode?: number,
): ActualInstance =>
  exitCode === undefined ? { instanceId, spec: s, state } : { instanceId, spec: s, state, exitCode };

describe('plan(desired, actual)', () => {
  it('creates what is desired and not running', () => {
    expect(plan([want('i1', spec('a'))], [])).toEqual([
      { kind: 'create', instanceId: 'i1', spec: spec('a') },
    ]);
  });

  it('stops what runs and is no longer desired', () => {
    expect(plan([], [have('i1', spec('a'))])).toEqual([{ kind: 'stop', instanceId: 'i1' }]);
  });

  it('does both on a partial overlap, stops first', () => {
    const actions = plan(
      [want('i1', spec('a')), want('i2', spec('b'))],
      [have('i1', spec('a')), have('i3', spec('c'))],
    );
    expect(actions).toEqual([
      { kind: 'stop', instanceId: 'i3' },
      { kind: 'create', instanceId: 'i2', spec: spec('b') },
    ]);
  });

  it('does nothing when desired equals actual, whatever the key order', () => {
    const reordered = { resources: { cpu: 500, memory: 256 }, image: 'a' };
    expect(plan([want('i1', spec('a'))], [have('i1', reordered)])).toEqual([]);
  });

  it('replaces an instance whose spec changed', () => {
    expect(plan([want('i1', spec('a', 512))], [have('i1', spec('a', 256))])).toEqual([
      { kind: 'replace', instanceId: 'i1', spec: spec('a', 512) },
    ]);
  });

  it('compares secret versions, not secret values (which are never stored)', () => {
    const wire = (value: string, version: number) => ({
      image: 'a',
      secrets: { DB_PASSWORD: value },
      secret_versions: { DB_PASSWORD: version },
    });
    const stored = { image: 'a', secret_versions: { DB_PASSWORD: 1 } };
    expect(plan([want('i1', wire('s3cret', 1))], [have('i1', stored)])).toEqual([]);
    expect(plan([want('i1', wire('other', 2))], [have('i1', stored)])).toEqual([
      { kind: 'replace', instanceId: 'i1', spec: wire('other', 2) },
    ]);
  });

  it('restarts exited instances as the restart policy says', () => {
    const s = spec('a');
    expect(plan([want('i1', s)], [have('i1', s, 'exited', 0)])).toMatchObject([{ kind: 'restart' }]);
    expect(plan([want('i1', s, 'on-failure')], [have('i1', s, 'exited', 0)])).toEqual([]);
    expect(plan([want('i1', s, 'on-failure')], [have('i1', s, 'exited', 3)])).toMatchObject([
      { kind: 'restart' },
    ]);
    expect(plan([want('i1', s, 'never')], [have('i1', s, 'oom-killed')])).toEqual([]);
    expect(plan([want('i1', s)], [have('i1', s, 'oom-killed')])).toMatchObject([
      { kind: 'restart', reason: expect.stringMatching(/memory limit/) as unknown },
    ]);
  });

  it('plans 1,000 instances deterministically', () => {
    const desired = Array.from({ length: 1000 }, (_, i) =>
      want(`i${String(i).padStart(4, '0')}`, spec('a', 256 + (i % 2))),
    );
    const actual = Array.from({ length: 1000 }, (_, i) =>
      have(`i${String(i + 500).padStart(4, '0')}`, spec('a', 256)),
    );
    const actions = plan(desired, actual);
    const count = (k: string) => actions.filter((a) => a.kind === k).length;
    expect(count('stop')).toBe(500);
    expect(count('create')).toBe(500);
    expect(count('replace')).toBe(250);
    expect(plan(desired, actual)).toEqual(actions);
  });
});
