import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

export interface SelfSigned {
  key: Buffer
  cert: Buffer
  /** SHA-256 of the DER certificate, `AB:CD:…` as openssl and browsers print it. */
  fingerprint: string
}

/**
 * A fresh self-signed certificate (EC P-256, 30 days) for a mock's HTTPS endpoint, made by the
 * openssl command line (node has no X.509 writer), valid for 127.0.0.1, ::1 and localhost so
 * that a client may also trust it as its own CA (caFile).
 */
export async function selfSigned(commonName: string): Promise<SelfSigned> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fencegate-cert-'))
  try {
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    await new Promise<void>((resolve, reject) =>
      execFile(
        'openssl',
        [
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
          '30',
          '-subj',
          `/O=fencegate lab/CN=${commonName.replace(/[^A-Za-z0-9 .-]/g, '')}`,
          '-addext',
          'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
        ],
        { timeout: 20_000 },
        (err, _out, stderr) => (err ? reject(new Error(`openssl: ${stderr || err.message}`)) : resolve()),
      ),
    )
    const [k, c] = await Promise.all([readFile(key), readFile(cert)])
    return { key: k, cert: c, fingerprint: new X509Certificate(c).fingerprint256 }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
