import { join } from "node:path";
import type { BenchContext } from "./bench-context.js";
import { benchEtcdStoreBaseline } from "./bench-etcd-store-baseline.js";
import { benchEtcdStoreWatchBaseline } from "./bench-etcd-store-watch-baseline.js";
import { benchEtcdStoreGet } from "./bench-etcd-store-get.js";
import { benchEtcdStoreSet } from "./bench-etcd-store-set.js";
import { benchEtcdStoreWatch } from "./bench-etcd-store-watch.js";
import { seededEtcd } from "./bench-etcd.js";
import { benchReplicasTogether } from "./bench-replicas-together.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { RawClient } from "./raw-client.js";
import type { CtmdHandle } from "./start-ctmd.js";
import { startEtcdCluster } from "./start-etcd-cluster.js";
import { startReplica } from "./start-replica.js";
import { versionOf } from "./version-of.js";

const prefix = "/bench-ctm/";

/**
 * ctmd on etcd (`--store etcd`), on a 3-member etcd cluster on loopback: Set against etcd's Put
 * on the same cluster, one replica's Get against the embedded store's, two replicas' Gets
 * together against one's, and watch fan-out across two replicas against etcd's own; with
 * BENCH_BASELINE, Set and watch fan-out through this build against that one. Then Set against
 * Put on one etcd member, which shows what replication costs each. Every pairing runs in
 * alternating rounds.
 */
export async function benchEtcdStore(ctx: BenchContext, embedded: CtmdHandle): Promise<void> {
  const cluster = await startEtcdCluster(ctx.children, join(ctx.work, "etcd-cluster"), 3);
  const eps = cluster.endpoints;
  const leaderAtStart = await cluster.leader();
  const replicas: CtmdHandle[] = [];
  try {
    // Replica A dials member 0 first and replica B member 1, as replicas spread over a cluster would.
    const a = await startReplica(ctx, { name: "replica-a", endpoints: eps, prefix, seed: true });
    replicas.push(a);
    const m0 = cluster.members[0]!;
    await benchEtcdStoreSet(ctx, a, { child: m0.child, address: m0.address, handled: (m) => cluster.handled(m) }, "3-member etcd cluster", "goal ≥ 0.5×");
    await benchEtcdStoreGet(ctx, embedded, a, "3-member etcd cluster");

    const b = await startReplica(ctx, { name: "replica-b", endpoints: [...eps.slice(1), eps[0]!], prefix });
    replicas.push(b);
    await checkSameVersion(ctx, a, b);
    await benchReplicasTogether(ctx, a, b);
    await benchEtcdStoreWatch(ctx, a, b, cluster);
    for (const r of replicas.splice(0)) await stop(r.child);

    const baseline = process.env["BENCH_BASELINE"];
    if (baseline) {
      await benchEtcdStoreBaseline(ctx, eps, baseline);
      await benchEtcdStoreWatchBaseline(ctx, eps, baseline);
    }
    ctx.report.note(
      `etcd cluster: 3 etcd members on loopback (one process each, data dirs under the bench's work dir, stopped by PID), every one on this machine's cores with the replicas and h2load; member ${leaderAtStart} led at the start and member ${await cluster.leader()} at the end. The Set row sends etcd's Puts to member 0, which replica A dials first, so both sides enter the cluster through the same member (the server CPU note shows member 0's alone). ctmd replicas: --store etcd --etcd-prefix ${prefix}, replica A with --etcd-endpoints member 0 first, replica B member 1 first; replica B runs only from the 2-replica rows on, so the Set rows have no follower replica applying the writes.`,
    );
  } finally {
    for (const r of replicas) await stop(r.child);
    await cluster.stop();
  }

  // One etcd member, as this row was measured before the cluster: replication's cost to each side.
  const one = await seededEtcd(ctx, "one etcd member for ctmd --store etcd");
  try {
    const replica = await startReplica(ctx, { name: "replica-on-one-member", endpoints: [one.address], prefix, seed: true });
    replicas.push(replica);
    await benchEtcdStoreSet(ctx, replica, one, "one etcd member", "no replication");
  } finally {
    for (const r of replicas) await stop(r.child);
    await stop(one.child);
  }
}

/** Replica B, started after A's writes, answers the Set key at the version A does: it read the log from etcd. */
async function checkSameVersion(ctx: BenchContext, a: CtmdHandle, b: CtmdHandle): Promise<void> {
  const [va, vb] = await Promise.all(
    [a, b].map(async (r) => {
      const client = new RawClient(r.address, 1);
      try {
        return await versionOf(client, fixture.setKey, true);
      } finally {
        client.close();
      }
    }),
  );
  ctx.report.check(va! > 0 && va === vb, `replica B (started after the Set rows) answers a consistent Get of the Set key at version ${vb}, replica A at ${va}`);
}
