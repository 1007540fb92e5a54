import { randomUUID } from "node:crypto";
import { connect, type Client } from "./client.js";
import { Daemon } from "./daemon.js";
import { EtcdCluster } from "./etcd-cluster.js";

export interface EtcdReplicasOptions {
  /** The cluster to start them on; by default one of `members` started for them, which stop() stops. */
  cluster?: EtcdCluster;
  /** Members of the cluster started for them (3 unless told). */
  members?: number;
  /** The etcd prefix they share: a fresh one by default, so that replica sets on one cluster never meet. */
  prefix?: string;
  /** More ctmd flags, after --store etcd, --etcd-endpoints and --etcd-prefix. */
  args?: readonly string[];
  /** Replica i lists the members from member i on, so each first calls another; by default all list them in order. */
  spread?: boolean;
  /** Replica i listens on 127.0.0.1:ports[i]: launched again, it is found at the same address. */
  ports?: readonly number[];
}

/**
 * `n` real ctmd processes with --store etcd on one prefix of a real etcd cluster, all started
 * together, each with a client. `stop()` closes the clients, kills every daemon still running by
 * PID (removing its data directory), and stops the cluster if it was started here.
 */
export class EtcdReplicas {
  private constructor(
    readonly cluster: EtcdCluster,
    readonly prefix: string,
    readonly daemons: Daemon[],
    readonly clients: Client[],
    private readonly ownsCluster: boolean,
  ) {}

  static async start(n: number, opts: EtcdReplicasOptions = {}): Promise<EtcdReplicas> {
    const cluster = opts.cluster ?? (await EtcdCluster.start(opts.members ?? 3));
    const prefix = opts.prefix ?? `/ctm-it/${randomUUID()}/`;
    const eps = cluster.endpoints;
    // Settled, not raced: when one daemon does not start, those that did are stopped too.
    const started = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => {
        const endpoints = opts.spread ? [...eps.slice(i % eps.length), ...eps.slice(0, i % eps.length)] : eps;
        const listen = opts.ports ? ["--listen", `127.0.0.1:${opts.ports[i]}`] : [];
        return Daemon.start({ args: ["--store", "etcd", "--etcd-endpoints", endpoints.join(","), "--etcd-prefix", prefix, ...listen, ...(opts.args ?? [])] });
      }),
    );
    const daemons = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await Promise.all(daemons.map((d) => d.dispose()));
      if (opts.cluster === undefined) await cluster.stop();
      throw failed.reason;
    }
    return new EtcdReplicas(cluster, prefix, daemons, daemons.map((d) => connect(d.address)), opts.cluster === undefined);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.daemons.map((d) => d.dispose()));
    if (this.ownsCluster) await this.cluster.stop();
  }
}

/** Whether a replica's log says it was elected to lead (the scheduler and compaction are the leader's). */
export const elected = (d: Daemon): boolean => d.logs.some((l) => String(l.msg).startsWith("elected to lead"));
