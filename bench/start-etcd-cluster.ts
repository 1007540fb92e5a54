import { basename, join } from "node:path";
import { type ChildProcesses, stop } from "./child-processes.js";
import { freePort } from "./free-port.js";
import { type EtcdMember, spawnEtcdMember } from "./spawn-etcd-member.js";

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** host:port of every member's client listener, member 0 first. */
  readonly endpoints: string[];
  /** grpc_server_handled_total for a method, summed over the members. */
  handled(method: string): Promise<{ ok: number; failures: Record<string, number> }>;
  /** The index of the member that leads now, from etcd's maintenance status; -1 if none says so. */
  leader(): Promise<number>;
  /** Stops every member by its own PID. */
  stop(): Promise<void>;
}

/**
 * A real etcd cluster of `size` members on free loopback ports, each with its data dir under
 * `dir` (inside the bench's work dir, removed with it); every member is tracked by `children`.
 */
export async function startEtcdCluster(children: ChildProcesses, dir: string, size = 3, timeoutMs = 30_000): Promise<EtcdCluster> {
  const ports = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(",");
  const members = ports.map((p, i) =>
    spawnEtcdMember(children, { name: `m${i}`, dataDir: join(dir, `m${i}`), clientPort: p.client, peerPort: p.peer, initialCluster, clusterToken: `ctm-bench-${basename(dir)}-${process.pid}` }),
  );
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.address),
    async handled(method) {
      const out = { ok: 0, failures: {} as Record<string, number> };
      for (const m of await Promise.all(members.map((x) => x.handled(method)))) {
        out.ok += m.ok;
        for (const [code, n] of Object.entries(m.failures)) out.failures[code] = (out.failures[code] ?? 0) + n;
      }
      return out;
    },
    async leader() {
      // The JSON gateway writes uint64 ids as decimal strings.
      const status = await Promise.all(
        members.map(async (m) => (await (await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: "POST", body: "{}" })).json()) as { header?: { member_id?: string }; leader?: string }),
      );
      return status.findIndex((s) => s.header?.member_id !== undefined && s.header.member_id === s.leader);
    },
    async stop() {
      // One at a time: a leader stopped while its followers stop too waits for a transfer that cannot happen.
      for (const m of members) await stop(m.child);
    },
  };
  try {
    await Promise.all(members.map((m) => m.healthy(timeoutMs)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
