import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type Client } from "../helpers/client.js";
import type { Daemon } from "../helpers/daemon.js";
import type { EtcdCluster } from "../helpers/etcd-cluster.js";
import { EtcdReplicas } from "../helpers/etcd-replicas.js";
import { metricsAddress } from "../helpers/safety-clients.js";

// Its own cluster: the test takes two of its three members away.
let replicas: EtcdReplicas;
let cluster: EtcdCluster;
let daemon: Daemon;
let client: Client;
let health: HealthClient;

type HealthClient = grpc.Client & { check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: { status: string }) => void): void };
const healthDef = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { enums: String })) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
};

beforeAll(async () => {
  replicas = await EtcdReplicas.start(1, { prefix: "/quorum-health/" });
  cluster = replicas.cluster;
  daemon = replicas.daemons[0]!;
  client = replicas.clients[0]!;
  health = new healthDef.grpc.health.v1.Health(daemon.address, grpc.credentials.createInsecure());
}, 90_000);

afterAll(async () => {
  health?.close();
  await replicas?.stop();
});

const status = (service: string): Promise<string> =>
  new Promise((resolve, reject) => health.check({ service }, { deadline: Date.now() + 3000 }, (e, r) => (e ? reject(e) : resolve(r.status))));

async function writable(): Promise<string | undefined> {
  const text = await (await fetch(`http://${metricsAddress(daemon)}/metrics`)).text();
  return /^ctm_store_writable (\d)$/m.exec(text)?.[1];
}

async function until(what: string, ok: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("ctmd on etcd without its quorum", () => {
  it("reports writes NOT_SERVING on grpc.health.v1 (ctm.v1.Writes) and ctm_store_writable 0 while reads stay SERVING and answered, then recovers by itself", async () => {
    await until("the daemon serves", async () => (await status("")) === "SERVING", 10_000);
    const w = await api(client).set({ key: "q/k", value: 1 });
    expect(await status("ctm.v1.Writes")).toBe("SERVING");
    expect(await writable()).toBe("1");

    await cluster.kill(1);
    await cluster.kill(2);
    // No write is needed for it to know: a read that needs the quorum goes unanswered.
    await until("writes are NOT_SERVING", async () => (await status("ctm.v1.Writes")) === "NOT_SERVING", 30_000);
    expect(await writable()).toBe("0");
    expect(await status("")).toBe("SERVING");
    expect(await status("ctm.v1.ConfigService")).toBe("SERVING");
    expect((await api(client).get({ key: "q/k" })).entry!.revision).toBe(w.entry!.revision);

    await cluster.restart(1);
    await cluster.restart(2);
    await until("writes are SERVING again", async () => (await status("ctm.v1.Writes")) === "SERVING", 30_000);
    expect(await writable()).toBe("1");
    const again = await api(client).set({ key: "q/k", value: 2 });
    expect(again.entry!.version).toBeGreaterThan(w.entry!.version);
  }, 120_000);
});
