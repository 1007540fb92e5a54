import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { CliError } from "./cli-error.js";

/** The global TLS options of `ctm` (--cacert, --cert, --cert-key). */
export interface ClientTlsOptions {
  cacert?: string;
  cert?: string;
  certKey?: string;
}

function read(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    const why = errno === "ENOENT" ? "no such file" : errno === "EACCES" ? "permission denied" : e instanceof Error ? e.message : String(e);
    throw new CliError(errno === "ENOENT" ? grpc.status.NOT_FOUND : grpc.status.INVALID_ARGUMENT, `${flag}: cannot read ${file}: ${why}`);
  }
}

let ipServernameQuiet = false;

/**
 * grpc-js sends the target's host as the TLS server name (SNI) even when it is an IP address,
 * and node then prints a deprecation warning (DEP0123) on stderr, which a CLI's callers would
 * read as part of its output. Only that warning is dropped; ctmd ignores SNI, and the server
 * certificate is still checked against the address (IP SAN).
 */
function quietIpServername(): void {
  if (ipServernameQuiet) return;
  ipServernameQuiet = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === "DEP0123") return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/**
 * The channel credentials of every client `ctm` makes: plaintext unless --cacert or --cert is
 * given; then TLS, verifying ctmd's certificate with --cacert (or the system's CAs without it)
 * and presenting --cert/--cert-key when ctmd asks for a client certificate (mTLS).
 */
export function clientCredentials(o: ClientTlsOptions): grpc.ChannelCredentials {
  if (o.certKey !== undefined && o.cert === undefined) throw new CliError(grpc.status.INVALID_ARGUMENT, "--cert-key: needs --cert");
  if (o.cert !== undefined && o.certKey === undefined) throw new CliError(grpc.status.INVALID_ARGUMENT, "--cert: needs --cert-key");
  if (o.cacert === undefined && o.cert === undefined) return grpc.credentials.createInsecure();
  const ca = o.cacert === undefined ? null : read("--cacert", o.cacert);
  const cert = o.cert === undefined ? null : read("--cert", o.cert);
  const key = o.certKey === undefined ? null : read("--cert-key", o.certKey);
  // node:tls silently ignores a CA file without a certificate, which would fail every call later.
  if (ca && !ca.includes("-----BEGIN CERTIFICATE-----")) throw new CliError(grpc.status.INVALID_ARGUMENT, `--cacert: no PEM certificate in ${o.cacert}`);
  try {
    // Built now so that a file that is not PEM, or a key that is not the certificate's, is this
    // error rather than an UNAVAILABLE from the first call.
    createSecureContext({ ca: ca ?? undefined, cert: cert ?? undefined, key: key ?? undefined });
    const credentials = grpc.credentials.createSsl(ca, key, cert);
    quietIpServername();
    return credentials;
  } catch (e) {
    throw new CliError(grpc.status.INVALID_ARGUMENT, `--cacert/--cert/--cert-key: ${e instanceof Error ? e.message : String(e)}`);
  }
}
