import { readFileSync } from "node:fs";
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

export function etcdStoreOptions(f: EtcdFlags): EtcdLogStoreOptions {
  const read = (file: string): Buffer => readFileSync(file);
  return {
    prefix: f.prefix,
    connection: {
      endpoints: f.endpoints,
      ...(f.ca ? { ca: read(f.ca) } : {}),
      ...(f.cert && f.key ? { cert: read(f.cert), key: read(f.key) } : {}),
      ...(f.user ? { user: f.user, password: read(f.passwordFile!).toString("utf8").trim() } : {}),
    },
  };
}
