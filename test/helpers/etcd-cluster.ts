import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./prometheus.js";

/** Debian's etcd-server puts the server here. */
export const ETCD_BIN = process.env.ETCD_BIN ?? "/usr/bin/etcd";

export interface EtcdMember {
  readonly name: string;
  /** host:port of its client (gRPC) listener. */
  readonly endpoint: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  child: ChildProcess | undefined;
}

/**
 * A real etcd cluster of `size` members on free loopback ports, each with its own data
 * directory under one temporary directory. `stop()` kills every member by PID and removes the
 * directory; `kill(i)` and `restart(i)` take one member down and bring it back.
 */
export class EtcdCluster {
  private stderr = new Map<string, string>();

  private constructor(
    readonly dir: string,
    readonly members: EtcdMember[],
  ) {}

  static async start(size = 3): Promise<EtcdCluster> {
    const dir = await mkdtemp(join(tmpdir(), "ctm-etcd-"));
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const client = await freePort();
      const peer = await freePort();
      members.push({ name: `m${i}`, endpoint: `127.0.0.1:${client}`, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, child: undefined });
    }
    const cluster = new EtcdCluster(dir, members);
    try {
      for (let i = 0; i < size; i++) cluster.spawn(i, "new");
      await Promise.all(members.map((_, i) => cluster.waitHealthy(i)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** SIGKILLs member i. */
  async kill(i: number): Promise<void> {
    const child = this.members[i]!.child;
    this.members[i]!.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  }

  /** Starts member i again on its data directory and waits until it is healthy. */
  async restart(i: number): Promise<void> {
    this.spawn(i, "existing");
    await this.waitHealthy(i);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    await rm(this.dir, { recursive: true, force: true });
  }

  private spawn(i: number, state: "new" | "existing"): void {
    const m = this.members[i]!;
    const initial = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const child = spawn(ETCD_BIN, [
      "--name", m.name,
      "--data-dir", join(this.dir, m.name),
      "--listen-client-urls", m.clientUrl,
      "--advertise-client-urls", m.clientUrl,
      "--listen-peer-urls", m.peerUrl,
      "--initial-advertise-peer-urls", m.peerUrl,
      "--initial-cluster", initial,
      "--initial-cluster-state", state,
      "--initial-cluster-token", `ctm-test-${this.dir}`,
      "--logger", "zap",
      "--log-level", "error",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => this.stderr.set(m.name, ((this.stderr.get(m.name) ?? "") + chunk.toString()).slice(-4000)));
    m.child = child;
  }

  private async waitHealthy(i: number, timeoutMs = 30_000): Promise<void> {
    const m = this.members[i]!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (m.child?.exitCode != null) throw new Error(`etcd ${m.name} exited with ${m.child.exitCode}:\n${this.stderr.get(m.name) ?? ""}`);
      try {
        const res = await fetch(`${m.clientUrl}/health`);
        if (((await res.json()) as { health?: string }).health === "true") return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) throw new Error(`etcd ${m.name} not healthy after ${timeoutMs} ms:\n${this.stderr.get(m.name) ?? ""}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
