import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { failedPrecondition } from "../../domain/errors.js";
import type { EtcdLogStoreOptions } from "./etcd-log-store.js";

/** What `ctmd --store etcd --etcd-...` says, with the files it names read. */
export interface EtcdFlags {
  endpoints: string[];
  prefix: string;
  user?: string;
  passwordFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** Seconds the leader's lease lasts: another replica takes over within it when the leader is gone. */
  leaseTtlSeconds: number;
}

/**
 * Throws a one-line CtmError naming the flag and its file for files that cannot be used, before
 * etcd is dialled: grpc-js would take a CA that is no certificate and fail every handshake later.
 */
export function etcdStoreOptions(f: EtcdFlags): EtcdLogStoreOptions {
  const ca = f.ca === undefined ? undefined : certificate("--etcd-ca", f.ca);
  const cert = f.cert && f.key ? { cert: certificate("--etcd-cert", f.cert), key: read("--etcd-key", f.key) } : undefined;
  if (cert) {
    try {
      createSecureContext(cert);
    } catch (e) {
      throw failedPrecondition(`cannot use --etcd-cert ${f.cert} with --etcd-key ${f.key}: ${/key values mismatch/i.test(errorText(e)) ? "the private key does not match the certificate" : errorText(e)}`);
    }
  }
  return {
    prefix: f.prefix,
    connection: {
      endpoints: f.endpoints,
      ...(ca ? { ca } : {}),
      ...cert,
      ...(f.user ? { user: f.user, password: read("--etcd-password-file", f.passwordFile!).toString("utf8").trim() } : {}),
    },
  };
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, "; ");

function read(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : errorText(e);
    throw failedPrecondition(`cannot read ${flag} ${file}: ${why}`);
  }
}

function certificate(flag: string, file: string): Buffer {
  const pem = read(flag, file);
  try {
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error("no PEM certificate in it");
    new X509Certificate(pem);
  } catch (e) {
    throw failedPrecondition(`cannot use ${flag} ${file}: ${errorText(e)}`);
  }
  return pem;
}
