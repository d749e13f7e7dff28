import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PemCertificate } from './tls/certificate-provider.js';

const run = promisify(execFile);

/** A self-signed P-256 certificate for `hostname` (CN and SAN), made by openssl in `dir`. */
export async function selfSignedCertificate(dir: string, hostname: string): Promise<PemCertificate> {
  const key = join(dir, `${hostname}.key`);
  const cert = join(dir, `${hostname}.crt`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    `/CN=${hostname}`,
    '-addext',
    `subjectAltName=DNS:${hostname}`,
  ]);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}
