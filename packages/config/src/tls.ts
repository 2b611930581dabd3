import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { z } from 'zod';
import { watchFiles } from './watch.ts';

/**
 * Certificate files of a process that serves HTTPS itself: both or neither (checked where the
 * environment is parsed, as `superRefine` would hide the shape from `.extend`).
 */
export const tlsEnv = z.object({
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
});

/** Certificate and key files (PEM) for serving HTTPS and WSS. */
export interface TlsFiles {
  /** Path of the certificate chain, PEM. */
  readonly certFile: string;
  /** Path of the private key, PEM. */
  readonly keyFile: string;
}

/** What TLS reloads log with (a pino logger fits). */
export interface TlsLogger {
  info(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

/** A server whose certificate can be swapped while it runs (`https.Server`, `tls.Server`). */
export interface SecureContextHolder {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * The TLS options every Courier listener uses: the certificate and key read now, and TLS 1.3
 * only (no downgrade to 1.2 or below).
 *
 * @throws Error when a file cannot be read.
 */
export function tlsServerOptions(files: TlsFiles): SecureContextOptions {
  return {
    cert: readFileSync(files.certFile),
    key: readFileSync(files.keyFile),
    minVersion: 'TLSv1.3',
  };
}

/**
 * Reloads `server`'s certificate whenever its files change, without a restart: existing
 * connections keep their session, new handshakes get the new certificate. A pair that does not
 * load (half-written files, a key that does not match) is logged and the previous certificate
 * stays; the next change tries again. The directories are watched, not the files, so atomic
 * replacements (cert-manager, Kubernetes Secrets) are seen.
 */
export function reloadTlsOnChange(
  server: SecureContextHolder,
  files: TlsFiles,
  logger: TlsLogger,
): { reload(): Promise<void>; close(): void } {
  const paths = [resolve(files.certFile), resolve(files.keyFile)];
  let last: readonly [Buffer, Buffer] | undefined;
  const load = async () => {
    let cert: Buffer;
    let key: Buffer;
    try {
      [cert, key] = await Promise.all([readFile(paths[0]!), readFile(paths[1]!)]);
    } catch {
      return;
    }
    if (last && cert.equals(last[0]) && key.equals(last[1])) return;
    last = [cert, key];
    const options: SecureContextOptions = { cert, key, minVersion: 'TLSv1.3' };
    try {
      createSecureContext(options);
    } catch (error) {
      logger.error({ reason: (error as Error).message }, 'TLS certificate not reloaded');
      return;
    }
    server.setSecureContext(options);
    logger.info({}, 'TLS certificate reloaded');
  };
  const watched = watchFiles(paths, load, (error) =>
    logger.error({ err: error }, 'TLS certificate watch failed'),
  );
  void watched.check();
  return { reload: () => watched.check(), close: () => watched.close() };
}
