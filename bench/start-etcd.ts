import type { ChildProcess } from "node:child_process";
import type { ChildProcesses } from "./child-processes.js";
import { freePort } from "./free-port.js";

export interface EtcdHandle {
  child: ChildProcess;
  /** host:port of the client (gRPC) listener. */
  address: string;
  /** grpc_server_handled_total for a method from etcd's /metrics: OK and every other code. */
  handled(method: string): Promise<{ ok: number; failures: Record<string, number> }>;
}

/**
 * Starts a one-member etcd on free loopback ports with its own data dir; stopped by PID via
 * `children`. `cores` sets GOMAXPROCS, to compare with a server that serves from one thread.
 */
export async function startEtcd(children: ChildProcesses, dataDir: string, timeoutMs = 30_000, { cores }: { cores?: number } = {}): Promise<EtcdHandle> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = children.spawn("etcd", [
    "--name", "bench",
    "--data-dir", dataDir,
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", `bench=${peer}`,
    "--initial-cluster-state", "new",
    "--logger", "zap",
    "--log-level", "error",
  ], cores === undefined ? {} : { env: { ...process.env, GOMAXPROCS: String(cores) } });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.stdout?.resume();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}:\n${stderr}`);
    try {
      const res = await fetch(`${client}/health`);
      const body = (await res.json()) as { health?: string };
      if (body.health === "true") break;
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`etcd not healthy after ${timeoutMs} ms:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    address: `127.0.0.1:${clientPort}`,
    async handled(method: string): Promise<{ ok: number; failures: Record<string, number> }> {
      const text = await (await fetch(`${client}/metrics`)).text();
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
