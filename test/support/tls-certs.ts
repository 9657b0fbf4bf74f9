import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throw-away certificate authority made with the `openssl` CLI in a temp dir, for TLS tests that need
 * real certificates: trusted or not, for the right names or not, expiring when the test says.
 */
export interface TestCa {
  /** PEM file of the CA certificate (what a check's `ca_file` points at). */
  caFile: string;
  /** Issues a leaf certificate; `days: -1` gives one that expired a day ago. */
  issue(options: { days: number; names?: string[] }): Promise<{ key: string; cert: string }>;
  cleanup(): Promise<void>;
}

const CA_NAME = 'Flightdeck Test CA';
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-tls-'));
  const caFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await openssl(
    ['req', '-x509', ...KEY, '-keyout', caKey, '-out', caFile, '-days', '3650'],
    ['-subj', `/O=${CA_NAME}/CN=${CA_NAME}`],
    ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
  );
  let serial = 1;

  return {
    caFile,
    async issue({ days, names = ['DNS:localhost', 'IP:127.0.0.1'] }) {
      const id = serial++;
      const [key, csr, cert, ext] = ['key', 'csr', 'pem', 'ext'].map((suffix) =>
        join(dir, `leaf-${id}.${suffix}`),
      );
      await writeFile(
        ext!,
        `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
      );
      await openssl(['req', '-new', ...KEY, '-keyout', key!, '-out', csr!, '-subj', '/CN=localhost']);
      await openssl(
        ['x509', '-req', '-in', csr!, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(id)],
        ['-days', String(days), '-extfile', ext!, '-out', cert!],
      );
      return { key: await readFile(key!, 'utf8'), cert: await readFile(cert!, 'utf8') };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

async function openssl(...args: string[][]): Promise<void> {
  await run('openssl', args.flat());
}
