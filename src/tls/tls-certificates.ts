import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { experimental } from '@grpc/grpc-js';

type GrpcCertificateProvider = experimental.CertificateProvider;
type IdentityListener = Parameters<GrpcCertificateProvider['addIdentityCertificateListener']>[0];

/** A certificate chain and its private key, PEM. */
export interface CertificatePair {
  cert: Buffer;
  key: Buffer;
}

/**
 * The server certificate and key read from PEM files, shared by the wss://
 * listener, the HTTPS push API and gRPC over TLS. `reload()` (wired to SIGHUP)
 * re-reads both files; a pair that does not load keeps the previous one in
 * service, so a botched renewal never takes the listeners down.
 */
export class TlsCertificates {
  private pair: CertificatePair;
  private readonly listeners = new Set<(pair: CertificatePair) => void>();

  constructor(
    readonly certFile: string,
    readonly keyFile: string,
  ) {
    this.pair = TlsCertificates.read(certFile, keyFile);
  }

  /** Read and check a pair; throws an Error naming the file at fault. */
  static read(certFile: string, keyFile: string): CertificatePair {
    const cert = readPem(certFile, 'certificate');
    const key = readPem(keyFile, 'private key');
    try {
      createSecureContext({ cert, key });
    } catch (error) {
      throw new Error(`TLS certificate ${certFile} and key ${keyFile} do not form a usable pair: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return { cert, key };
  }

  get current(): CertificatePair {
    return this.pair;
  }

  /** Re-read the files and hand the new pair to every listener; throws (keeping the old pair) if they do not load. */
  reload(): void {
    this.pair = TlsCertificates.read(this.certFile, this.keyFile);
    for (const listener of this.listeners) listener(this.pair);
  }

  /** Call `listener` with every pair loaded from now on. */
  onReload(listener: (pair: CertificatePair) => void): void {
    this.listeners.add(listener);
  }

  /** The same pair as a grpc-js certificate provider, updated on reload. */
  grpcProvider(): GrpcCertificateProvider {
    const identityListeners = new Set<IdentityListener>();
    this.onReload((pair) => {
      for (const listener of identityListeners) listener({ certificate: pair.cert, privateKey: pair.key });
    });
    return {
      addCaCertificateListener() {},
      removeCaCertificateListener() {},
      addIdentityCertificateListener: (listener) => {
        identityListeners.add(listener);
        // Asynchronously: grpc-js registers its own watcher only after this call returns,
        // and an update delivered before that is lost (the server then drops every connection).
        queueMicrotask(() => {
          if (identityListeners.has(listener)) listener({ certificate: this.pair.cert, privateKey: this.pair.key });
        });
      },
      removeIdentityCertificateListener: (listener) => {
        identityListeners.delete(listener);
      },
    };
  }
}

function readPem(file: string, what: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (error) {
    throw new Error(`TLS ${what} file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  if (!pem.includes('-----BEGIN')) throw new Error(`TLS ${what} file ${file} is not PEM`);
  return pem;
}
