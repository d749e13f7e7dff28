import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface SelfSignedCertificate {
  keyPath: string;
  certPath: string;
  keyPem: string;
  certPem: string;
}

/**
 * A self-signed P-256 certificate made by openssl as `<dir>/<name>.key` and `.crt`, valid 2 days, with `subject`
 * as its CN and, when given, a subjectAltName (e.g. `DNS:localhost,IP:127.0.0.1`). Async on purpose: nothing
 * blocking may run while an in-process server must answer (TESTING.md).
 */
export async function selfSignedCertificate(
  dir: string,
  opts: { name: string; subject: string; subjectAltName?: string },
): Promise<SelfSignedCertificate> {
  const keyPath = join(dir, `${opts.name}.key`);
  const certPath = join(dir, `${opts.name}.crt`);
  // prettier-ignore
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${opts.subject}`,
    ...(opts.subjectAltName === undefined ? [] : ['-addext', `subjectAltName=${opts.subjectAltName}`]),
  ], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return {
    keyPath,
    certPath,
    keyPem: await readFile(keyPath, 'utf8'),
    certPem: await readFile(certPath, 'utf8'),
  };
}
