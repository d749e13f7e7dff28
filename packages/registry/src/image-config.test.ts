import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PATH, resolveProcess, resolveUser } from './image-config.js';
import { ImageError } from './unpack/image-error.js';

const image = {
  config: {
    Entrypoint: ['/entry.sh'],
    Cmd: ['serve', '--port', '80'],
    Env: ['PATH=/app/bin', 'MODE=image'],
    WorkingDir: 'app',
    User: '1000:1000',
    ExposedPorts: { '80/tcp': {}, '443': {}, '53/udp': {} },
  },
};

describe('resolveProcess', () => {
  it('runs Entrypoint ++ Cmd with the image env, workdir, user and ports', () => {
    expect(resolveProcess(image)).toEqual({
      args: ['/entry.sh', 'serve', '--port', '80'],
      env: ['PATH=/app/bin', 'MODE=image'],
      cwd: '/app',
      user: { uid: 1000, gid: 1000 },
      exposedPorts: [80, 443],
    });
  });

  it('lets args replace Cmd, command replace both, and app env win', () => {
    expect(resolveProcess(image, { args: ['worker'] }).args).toEqual(['/entry.sh', 'worker']);
    expect(resolveProcess(image, { command: ['/bin/sh'] }).args).toEqual(['/bin/sh']);
    expect(resolveProcess(image, { command: ['/bin/sh'], args: ['-c', 'true'] }).args).toEqual([
      '/bin/sh',
      '-c',
      'true',
    ]);
    const p = resolveProcess(
      { config: { Cmd: ['x'], Env: ['MODE=image'] } },
      { env: { MODE: 'app' }, user: 'app' },
    );
    expect(p.env).toEqual(['MODE=app', `PATH=${DEFAULT_PATH}`]);
    expect(p.cwd).toBe('/');
    expect(p.user).toEqual({ name: 'app' });
  });

  it('refuses an image with nothing to run', () => {
    expect(() => resolveProcess({ config: {} })).toThrow(ImageError);
    expect(() => resolveProcess({})).toThrow(/no Entrypoint or Cmd/);
  });
});

describe('resolveUser', () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempDir('rootfs-');
    await mkdir(join(root, 'etc'));
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nweb:x:33:\nlog:x:4:web\n');
  });
  afterEach(async () => {
    await removeDir(root);
  });

  it('resolves names, numbers and groups from the rootfs', async () => {
    expect(await resolveUser(root, 'web')).toEqual({ uid: 33, gid: 33, additionalGids: [4] });
    expect(await resolveUser(root, 'web:log')).toEqual({ uid: 33, gid: 4, additionalGids: [] });
    expect(await resolveUser(root, '4242')).toEqual({ uid: 4242, gid: 0, additionalGids: [] });
    expect(await resolveUser(root, '')).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    await expect(resolveUser(root, 'nobody')).rejects.toThrow(/not in the image's \/etc\/passwd/);
    await expect(resolveUser(root, 'web:nogroup')).rejects.toThrow(/not in the image's \/etc\/group/);
  });

  it('reads an absolute /etc/passwd symlink inside the rootfs, never the host file', async () => {
    await mkdir(join(root, 'alt'));
    await writeFile(join(root, 'alt/passwd'), 'svc:x:7:7::/:/bin/sh\n');
    await removeDir(join(root, 'etc'));
    await mkdir(join(root, 'etc'));
    await symlink('/alt/passwd', join(root, 'etc/passwd'));
    await symlink('../../../../../../etc/hostname', join(root, 'etc/group'));
    expect(await resolveUser(root, 'svc')).toEqual({ uid: 7, gid: 7, additionalGids: [] });
    // /etc/group -> ../../../etc/hostname is clamped at the rootfs root, as in the container: the host file is never read.
    await expect(resolveUser(root, 'svc:root')).rejects.toThrow(/group "root"/);
  });
});
