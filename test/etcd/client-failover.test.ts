import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, connect } from "../helpers/client.js";
import { EtcdCluster } from "../helpers/etcd-cluster.js";
import { EtcdReplicas } from "../helpers/etcd-replicas.js";
import { freePort, GO_BUILD_MS, GoPath, PY_ENV, PYTHON, pythonWatch, run } from "../interop/helpers.js";

// Two ctmd replicas on a real etcd cluster, each killed in turn, while the Python and Go
// clients are given both addresses.
let cluster: EtcdCluster;
let gopath: GoPath;
let goInterop: string;

beforeAll(async () => {
  cluster = await EtcdCluster.start(3);
  gopath = await GoPath.create();
  goInterop = await gopath.build("ctm.dev/clients/go/cmd/interop");
}, GO_BUILD_MS + 60_000);

afterAll(async () => {
  await cluster?.stop();
  await gopath?.dispose();
});

describe("Python and Go clients with several replica addresses", () => {
  it("Python's resuming watch follows every write across both replicas being killed in turn, and Go's calls go to the one that is up", async () => {
    const prefix = `/ctm-failover/${randomUUID()}/`;
    const ports = [await freePort(), await freePort()];
    const replicaPair = await EtcdReplicas.start(2, { cluster, prefix, ports });
    const pair = replicaPair.daemons;
    const both = ports.map((p) => `127.0.0.1:${p}`).join(",");
    try {
      // Writes go through whichever replica is up; the clients under test only read.
      const write = async (key: string, value: number): Promise<number> => {
        for (let tries = 0; ; tries++) {
          const c = connect(`127.0.0.1:${ports[tries % 2]}`);
          try {
            return (await api(c).set({ key, value, expectedVersion: 0 })).entry!.revision;
          } catch {
            // Down, or it landed before its replica went: a compare-and-set makes the retry safe.
            const there = await api(c).get({ key }).catch(() => undefined);
            if (there) return there.entry!.revision;
            expect(tries, `writing ${key}`).toBeLessThan(30);
            await new Promise((r) => setTimeout(r, 100));
          } finally {
            c.close();
          }
        }
      };
      const made = [await write("py/0", 0)];
      const total = 30;
      const watch = pythonWatch(["--addr", both, "--key", "py/", "--prefix", "--start", String(made[0]), "--count", String(total + 1), "--max-retry-time", "60"]);
      try {
        await watch.until(() => watch.of("started").length > 0, "the Python watch started");
        for (let i = 1; i <= 10; i++) made.push(await write(`py/${i}`, i));
        await pair[0]!.kill();
        for (let i = 11; i <= 20; i++) made.push(await write(`py/${i}`, i));
        await pair[0]!.launch();
        await pair[1]!.kill();
        for (let i = 21; i <= total; i++) made.push(await write(`py/${i}`, i));
        expect(await watch.wait(40_000)).toBe(0);
        expect(watch.of("event").map((e) => e.revision)).toEqual(made);
      } finally {
        watch.kill();
      }
      // Go: one replica is down; its calls reach the other.
      const go = JSON.parse((await run(goInterop, ["get-units", "-addr", both, "-key", `py/${total}`, "-units", JSON.stringify(["u1", "u2", "u3"])], { env: gopath.env })).stdout) as { value: unknown }[];
      expect(go.map((a) => a.value)).toEqual([total, total, total]);
      // And Python's unary calls too.
      const py = await run(PYTHON, ["-c", `import json; from ctm import Client; print(json.dumps(Client(${JSON.stringify(both)}).get("py/${total}").value))`], { env: PY_ENV });
      expect(JSON.parse(py.stdout)).toBe(total);
    } finally {
      await replicaPair.stop();
    }
  }, 120_000);
});
