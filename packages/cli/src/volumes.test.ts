import { describe, expect, it } from 'vitest';
import { expectErrorLine, expectSuccess, useLoggedInSession } from './test-session.js';

const s = useLoggedInSession();

describe('shellwego volumes', () => {
  it('creates a volume for an app, lists it, refuses bad input with one line, and deletes it', async () => {
    expectSuccess(await s.cli(['apps', 'create', 'shop']));
    const created = await s.cli(['volumes', 'create', 'data', '--size', '1g', '--app', 'shop']);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('created volume data (1Gi)\n');
    expect(created.stderr).toMatch(/shop mounts it at \/data/);

    const table = await s.cli(['volumes', 'ls']);
    expectSuccess(table);
    const [header, row] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+SIZE\s+APP\s+MOUNT\s+STATUS\s+CREATED$/);
    expect(row).toMatch(/^data\s+1Gi\s+app_\S+\s+\/data\s+pending\s+/);
    const [json] = JSON.parse((await s.cli(['volumes', 'ls', '--json'])).stdout) as { mount_path: string }[];
    expect(json?.mount_path).toBe('/data');

    const reserved = await s.cli([
      'volumes',
      'create',
      'sys',
      '--size',
      '1g',
      '--app',
      'shop',
      '--mount',
      '/proc/x',
    ]);
    expect(expectErrorLine(reserved, 'VALIDATION_FAILED')).toMatch(/mount_path: \/proc is the runtime's own/);
    const noSize = await s.cli(['volumes', 'create', 'nosize']);
    expect(noSize.code).not.toBe(0);
    expect(noSize.stderr).toMatch(/--size/);

    const refused = await s.cli(['volumes', 'rm', 'data']);
    expect(expectErrorLine(refused, 'CONFIRMATION_REQUIRED')).toMatch(
      /refusing to delete volume data without --yes/,
    );
    const deleted = await s.cli(['volumes', 'rm', 'data', '--yes']);
    expectSuccess(deleted);
    expect(deleted.stdout).toBe('deleted volume data\n');
    const gone = await s.cli(['volumes', 'rm', 'data', '--yes']);
    expect(expectErrorLine(gone, 'VOLUME_NOT_FOUND')).toBe('error: volume data not found (VOLUME_NOT_FOUND)');
  });
});
