import type { ChildProcess } from "node:child_process";
import type { ChildProcesses } from "./child-processes.js";

export interface EtcdHandle {
  child: ChildProcess;
  /** host:port of the client (gRPC) listener. */
  address: string;
  /** grpc_server_handled_total for a method from etcd's /metrics: OK and every other code. */
  handled(method: string): Promise<{ ok: number; failures: Record<string, number> }>;
}

export interface EtcdMember extends EtcdHandle {
  readonly name: string;
  /** http://127.0.0.1:<client port>: /health, /metrics and the JSON gateway. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  /** Resolves once the member says it is healthy (a cluster's members only do once a quorum is up). */
  healthy(timeoutMs?: number): Promise<void>;
}

export interface EtcdMemberOptions {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** `name=peerUrl,...` of every member of a new cluster; this member alone when absent. */
  initialCluster?: string;
  /** Keeps the members of one cluster from joining another's. */
  clusterToken?: string;
  /** GOMAXPROCS, to compare with a server that serves from one thread. */
  cores?: number;
}

/** Spawns one etcd member on loopback, tracked by `children` (so stopped by PID); does not wait for it. */
export function spawnEtcdMember(children: ChildProcesses, o: EtcdMemberOptions): EtcdMember {
  const clientUrl = `http://127.0.0.1:${o.clientPort}`;
  const peerUrl = `http://127.0.0.1:${o.peerPort}`;
  const child = children.spawn("etcd", [
    "--name", o.name,
    "--data-dir", o.dataDir,
    "--listen-client-urls", clientUrl,
    "--advertise-client-urls", clientUrl,
    "--listen-peer-urls", peerUrl,
    "--initial-advertise-peer-urls", peerUrl,
    "--initial-cluster", o.initialCluster ?? `${o.name}=${peerUrl}`,
    "--initial-cluster-state", "new",
    ...(o.clusterToken ? ["--initial-cluster-token", o.clusterToken] : []),
    "--logger", "zap",
    "--log-level", "error",
  ], o.cores === undefined ? {} : { env: { ...process.env, GOMAXPROCS: String(o.cores) } });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.stdout?.resume();
  return {
    name: o.name,
    child,
    address: `127.0.0.1:${o.clientPort}`,
    clientUrl,
    peerUrl,
    async healthy(timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`etcd ${o.name} exited with ${child.exitCode}:\n${stderr}`);
        try {
          const body = (await (await fetch(`${clientUrl}/health`)).json()) as { health?: string };
          if (body.health === "true") return;
        } catch {
          // Not up yet.
        }
        if (Date.now() > deadline) throw new Error(`etcd ${o.name} not healthy after ${timeoutMs} ms:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async handled(method: string): Promise<{ ok: number; failures: Record<string, number> }> {
      const text = await (await fetch(`${clientUrl}/metrics`)).text();
      const out = { ok: 0, failures: {} as Record<string, number> };
      for (const line of text.split("\n")) {
        if (!line.startsWith("grpc_server_handled_total{") || !line.includes(`grpc_method="${method}"`)) continue;
        const code = /grpc_code="(\w+)"/.exec(line)?.[1] ?? "?";
        const n = Number(line.slice(line.lastIndexOf(" ") + 1));
        if (code === "OK") out.ok += n;
        else if (n > 0) out.failures[code] = (out.failures[code] ?? 0) + n;
      }
      return out;
    },
  };
}
