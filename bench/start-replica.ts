import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { BenchContext } from "./bench-context.js";
import { fixture } from "./fixture.js";
import { RawClient } from "./raw-client.js";
import { paths } from "./settings.js";
import { type CtmdHandle, startCtmd } from "./start-ctmd.js";

export interface ReplicaOptions {
  /** Its own dir under the work dir (ctmd's data dir holds a replica's access log). */
  name: string;
  /** etcd members' host:port; the replica dials the first one first. */
  endpoints: readonly string[];
  prefix: string;
  /** Another build's dist/src/main.js. */
  entry?: string;
  /** Write the bench's Get key: once per prefix, by the first replica on it. */
  seed?: boolean;
}

/** One ctmd replica on etcd (`--store etcd`), started as a user would; seeded and checked when asked. */
export async function startReplica(ctx: BenchContext, o: ReplicaOptions): Promise<CtmdHandle> {
  const dir = join(ctx.work, o.name);
  mkdirSync(dir, { recursive: true });
  const replica = await startCtmd(ctx.children, dir, ["--store", "etcd", "--etcd-endpoints", o.endpoints.join(","), "--etcd-prefix", o.prefix], o.entry);
  if (o.seed) {
    const client = new RawClient(replica.address, 1);
    const seeded = await client.unary(paths.set, fixture.seedRequest());
    client.close();
    ctx.report.check(seeded.code === grpc.status.OK, `${o.name} (ctmd --store etcd, prefix ${o.prefix}): seed Set ${grpc.status[seeded.code]}${seeded.details ? ` (${seeded.details})` : ""}`);
    if (seeded.code !== grpc.status.OK) throw new Error(`${o.name} rejected the seed Set: ${grpc.status[seeded.code]} ${seeded.details}`);
  }
  return replica;
}
