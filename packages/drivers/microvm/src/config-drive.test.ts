import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestConfigFiles, shellQuote, tarFiles, type GuestConfig } from './config-drive.js';
import { mustRun } from './run-tool.js';

const cfg: GuestConfig = {
  hostname: 'web',
  network: { ip: '10.0.0.2', prefix: 24, gateway: '10.0.0.1', mac: '02:00:00:00:00:02' },
  process: {
    args: ['/bin/sh', '-c', `echo "it's $GREETING"; echo done`],
    env: ['PATH=/bin', "GREETING=a 'quoted' $(value)"],
    cwd: '/srv',
    user: { uid: 0, gid: 0 },
  },
  secrets: { SOVEREIGN_KEY: "top'secret" },
  volumes: [{ uuid: '0123456789abcdef0123456789abcdef', target: '/data dir', readOnly: true }],
};

describe('config drive', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir('swg-cfg-');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('is a tar busybox extracts, in whole 512-byte blocks', async () => {
    const tar = tarFiles(guestConfigFiles(cfg));
    expect(tar.length % 512).toBe(0);
    await writeFile(join(dir, 'drive'), tar);
    await mkdir(join(dir, 'x'));
    await mustRun('busybox', ['tar', '-xf', join(dir, 'drive'), '-C', join(dir, 'x')]);
    expect(await readFile(join(dir, 'x', 'secrets', 'SOVEREIGN_KEY'), 'utf8')).toBe("top'secret");
    expect(await readFile(join(dir, 'x', 'volumes'), 'utf8')).toBe(
      '0123456789abcdef0123456789abcdef ro /data dir\n',
    );
    const config = await mustRun('busybox', [
      'sh',
      '-c',
      `. ${join(dir, 'x', 'config.sh')}; echo "$SWG_IP/$SWG_PREFIX via $SWG_GATEWAY"`,
    ]);
    expect(config.trim()).toBe('10.0.0.2/24 via 10.0.0.1');
  });

  it('quotes every value, so the app sees its args and env verbatim', async () => {
    // Run app.sh on the host with the guest paths swapped for the host's busybox and a temp cwd.
    const app = guestConfigFiles({ ...cfg, process: { ...cfg.process, cwd: dir } }).get('app.sh') ?? '';
    const hostApp = app
      .replace('rm -f /run/.swg-app.sh', '')
      .replaceAll('/.shellwego/busybox', '/bin/busybox');
    await writeFile(join(dir, 'app.sh'), hostApp);
    const out = await mustRun('busybox', ['sh', join(dir, 'app.sh')]);
    expect(out).toBe(`it's a 'quoted' $(value)\ndone\n`);
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});
