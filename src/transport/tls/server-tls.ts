import * as grpc from "@grpc/grpc-js";
import type { SecureServerOptions } from "node:http2";
import type { SecureContextOptions, TlsOptions } from "node:tls";
import type { Logger } from "pino";
import { contextOptions, loadTlsMaterial, MIN_TLS_VERSION, type TlsFiles, type TlsMaterial } from "./tls-material.js";

export type ClientAuth = "require" | "optional";

export interface ServerTlsSettings extends TlsFiles {
  /** With a client CA: `require` refuses a handshake without a certificate the CA signed; `optional` lets it in unauthenticated. */
  clientAuth: ClientAuth;
}

/**
 * Server credentials whose certificate can be swapped while the server runs.
 *
 * Why this and not grpc-js's other ways (checked against the installed @grpc/grpc-js 1.14.x):
 * - `ServerCredentials.createSsl` is fixed for the life of the server.
 * - `experimental.FileWatcherCertificateProvider` polls the files on a timer rather than on
 *   SIGHUP, and when a read fails it publishes `null`, upon which grpc-js drops every new
 *   connection: a bad certificate would take the port down instead of keeping the old one.
 * - `experimental.createCertificateProviderServerCredentials` fixes its server options to
 *   requestCert/rejectUnauthorized/ciphers, so the TLS 1.2 floor cannot be set, and its declared
 *   parameter order (ca, identity) is the reverse of what it passes to its constructor.
 * All of them rest on the mechanism used here: grpc-js's server adds a watcher to its
 * `ServerCredentials` for each bound port (`_addWatcher`) and, whenever the credentials call
 * their protected `updateSecureContextOptions`, calls `setSecureContext` on its HTTP/2 server.
 * That only affects handshakes from then on: open connections, and the streams on them, are
 * untouched. This subclass calls it only with material that `loadTlsMaterial` has already
 * built a context from, so grpc-js never sees options it would fail on (which would also make
 * it drop new connections).
 */
class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(serverOptions: SecureServerOptions, context: SecureContextOptions) {
    super(serverOptions, context);
  }

  update(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * ctmd's TLS: the gRPC credentials, the options of the HTTPS /metrics server, and the reload
 * (SIGHUP) that swaps the certificate, key and client CA under both without closing anything.
 */
export class ServerTls {
  readonly grpcCredentials: grpc.ServerCredentials;
  private readonly credentials: ReloadableServerCredentials;
  private readonly reloadListeners = new Set<(context: SecureContextOptions) => void>();
  private material: TlsMaterial;

  /** Throws a one-line CtmError (failed_precondition) for files that cannot be used. */
  constructor(
    private readonly settings: ServerTlsSettings,
    private readonly log: Logger,
  ) {
    this.material = loadTlsMaterial(settings);
    this.credentials = new ReloadableServerCredentials(this.serverOptions(), contextOptions(this.material));
    this.grpcCredentials = this.credentials;
    log.info({ ...this.describe(), clientAuth: this.mtls ? settings.clientAuth : "off" }, "tls enabled");
  }

  get mtls(): boolean {
    return this.settings.clientCaFile !== undefined;
  }

  /** The certificate being served now. */
  get current(): Readonly<TlsMaterial> {
    return this.material;
  }

  /** Options that do not change at reload: whether to ask for a client certificate, whether to insist, the floor. */
  private serverOptions(): SecureServerOptions {
    return { requestCert: this.mtls, rejectUnauthorized: this.mtls && this.settings.clientAuth === "require", minVersion: MIN_TLS_VERSION };
  }

  /** For node:https (or node:tls) createServer: the same policy as the gRPC port. */
  httpsOptions(): TlsOptions {
    return { ...this.serverOptions(), ...contextOptions(this.material) };
  }

  /** `fn` gets the new context options after each successful reload (for tls.Server#setSecureContext). */
  onReload(fn: (context: SecureContextOptions) => void): () => void {
    this.reloadListeners.add(fn);
    return () => this.reloadListeners.delete(fn);
  }

  /**
   * Reads the files again. New handshakes get the new certificate; open connections keep theirs.
   * Files that cannot be used leave the previous material in place and log an error; this never
   * throws. Returns whether the new material was taken.
   */
  reload(): boolean {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.settings);
    } catch (e) {
      this.log.error({ err: e instanceof Error ? e.message : String(e), serving: this.describe() }, "tls reload failed; still serving the previous certificate");
      return false;
    }
    const previous = this.material;
    this.material = next;
    const context = contextOptions(next);
    this.credentials.update(context);
    for (const fn of this.reloadListeners) {
      try {
        fn(context);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, "tls reload: a listener failed");
      }
    }
    this.log.info({ ...this.describe(), previousSerial: previous.serial }, "tls reloaded");
    return true;
  }

  private describe(): Record<string, string> {
    const { subject, serial, notAfter } = this.material;
    return { subject, serial, notAfter };
  }
}

/** The daemon's TLS from its configuration, or undefined when --tls-cert is not set. */
export function serverTls(
  cfg: { tlsCert?: string; tlsKey?: string; tlsClientCa?: string; tlsClientAuth: ClientAuth },
  log: Logger,
): ServerTls | undefined {
  if (cfg.tlsCert === undefined || cfg.tlsKey === undefined) return undefined;
  return new ServerTls({ certFile: cfg.tlsCert, keyFile: cfg.tlsKey, clientCaFile: cfg.tlsClientCa, clientAuth: cfg.tlsClientAuth }, log);
}
