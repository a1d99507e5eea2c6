/**
 * mTLS in front of a Temporal dev server, which speaks only plaintext: a certificate authority, a server and a client
 * certificate made with the openssl CLI, and a TLS-terminating TCP proxy (node:tls, client certificates required,
 * ALPN h2) that pipes each accepted connection to the dev server. gRPC's HTTP/2 passes through a TCP proxy as is.
 *
 *   const pki = makePki(dir);                                   // { caCert, serverCert, serverKey, clientCert, clientKey } paths
 *   const proxy = await startTlsProxy(pki, temporal.address);   // { address, handshakes, refused, stop() }
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer; message: string };
    if (e.code === 'ENOENT') throw new Error('the mTLS test needs the openssl CLI (apt-get install openssl)', { cause: err });
    throw new Error(`openssl ${args.join(' ')}: ${e.stderr?.toString() ?? e.message}`, { cause: err });
  }
}

/** A throwaway CA and a server (localhost, 127.0.0.1) and client certificate it signed, as PEM files in `dir`. */
export function makePki(dir: string): Pki {
  const f = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=dynsweep test CA']);
  const issue = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    openssl(['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`]);
    openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)]);
  };
  issue('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
  issue('client', 'dynsweep worker', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  return { caCert: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key') };
}

export interface TlsProxy {
  /** 127.0.0.1:<port> */
  address: string;
  /** Connections that completed the handshake with a client certificate the CA signed. */
  handshakes(): number;
  /** Connections refused during the handshake (no certificate, a wrong one, or no TLS at all). */
  refused(): number;
  stop(): Promise<void>;
}

/** A TLS server on a free loopback port that requires client certificates of `pki`'s CA and forwards to `target`. */
export async function startTlsProxy(pki: Pki, target: string): Promise<TlsProxy> {
  const [host, port] = [target.replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(target)?.[1])];
  let handshakes = 0;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      key: readFileSync(pki.serverKey),
      cert: readFileSync(pki.serverCert),
      ca: readFileSync(pki.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      handshakes++;
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', () => refused++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    address,
    handshakes: () => handshakes,
    refused: () => refused,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
