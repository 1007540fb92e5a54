import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { failedPrecondition } from "../../domain/errors.js";

/** The oldest protocol ctmd speaks, on the gRPC port and on /metrics. */
export const MIN_TLS_VERSION = "TLSv1.2";

/** Where the server's PEM files are. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates are asked for and checked against this CA (mTLS). */
  clientCaFile?: string;
}

/** The PEM bytes of one consistent set of files, checked, and what the logs say about them. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  /** The leaf certificate, for logs and operators. */
  subject: string;
  serial: string;
  notAfter: string;
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, "; ").trim();

/** OpenSSL's codes mean little to an operator; the common cases get words. */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = err instanceof Error ? err.message : String(e);
  if (err.code === "ENOENT") return "no such file";
  if (err.code === "EACCES") return "permission denied";
  if (err.code === "EISDIR") return "is a directory";
  if (/key values mismatch/i.test(msg)) return "the private key does not match the certificate";
  if (/no start line|bad base64|PEM/i.test(msg)) return `not a PEM file (${oneLine(msg)})`;
  return oneLine(msg);
}

function read(what: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw failedPrecondition(`cannot read ${what} ${file}: ${reason(e)}`);
  }
}

function parseCertificate(what: string, file: string, pem: Buffer): X509Certificate {
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw failedPrecondition(`cannot use ${what} ${file}: no PEM certificate in it`);
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw failedPrecondition(`cannot use ${what} ${file}: ${reason(e)}`);
  }
}

/** What node:tls and grpc-js are given: the files' bytes and the protocol floor. */
export const contextOptions = (m: TlsMaterial): SecureContextOptions => ({ cert: m.cert, key: m.key, ca: m.ca, minVersion: MIN_TLS_VERSION });

/**
 * Reads and checks the files: each must be PEM, the key must belong to the certificate (OpenSSL
 * checks that when a context is built), and the CA file must hold a certificate (node:tls would
 * silently ignore one that does not). Throws a one-line `failed_precondition` CtmError naming the
 * file: at start it refuses the start, at reload the caller keeps the previous material.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = read("TLS certificate", files.certFile);
  const key = read("TLS key", files.keyFile);
  const ca = files.clientCaFile === undefined ? undefined : read("TLS client CA", files.clientCaFile);
  const leaf = parseCertificate("TLS certificate", files.certFile, cert);
  if (ca) parseCertificate("TLS client CA", files.clientCaFile!, ca);
  const material: TlsMaterial = { cert, key, ca, subject: oneLine(leaf.subject), serial: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString() };
  try {
    createSecureContext(contextOptions(material));
  } catch (e) {
    throw failedPrecondition(`cannot use TLS certificate ${files.certFile} with key ${files.keyFile}: ${reason(e)}`);
  }
  return material;
}
