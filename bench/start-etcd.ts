import type { ChildProcesses } from "./child-processes.js";
import { freePort } from "./free-port.js";
import { type EtcdHandle, spawnEtcdMember } from "./spawn-etcd-member.js";

export type { EtcdHandle } from "./spawn-etcd-member.js";

/**
 * Starts a one-member etcd on free loopback ports with its own data dir; stopped by PID via
 * `children`. `cores` sets GOMAXPROCS, to compare with a server that serves from one thread.
 */
export async function startEtcd(children: ChildProcesses, dataDir: string, timeoutMs = 30_000, { cores }: { cores?: number } = {}): Promise<EtcdHandle> {
  const member = spawnEtcdMember(children, { name: "bench", dataDir, clientPort: await freePort(), peerPort: await freePort(), ...(cores === undefined ? {} : { cores }) });
  await member.healthy(timeoutMs);
  return member;
}
