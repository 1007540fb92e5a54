import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
import { api, connect, rejects } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

const run = promisify(execFile);
const PROBE = resolve(import.meta.dirname, "../dist/src/health-probe.js");

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function probe(address: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [PROBE, address]);
    return { code: 0, out: stdout.trim() };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: `${err.stdout}${err.stderr}`.trim() };
  }
}

type HealthClient = grpc.Client & { watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }> };
const healthDef = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { enums: String })) as unknown as {
  grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
};

describe("grpc.health.v1", () => {
  it("Health/Watch sends the status once and then only changes, not a repeat every second", async () => {
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    const client = new healthDef.grpc.health.v1.Health(daemon.address, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const seen: string[] = [];
    const stream = client.watch({ service: "" });
    stream.on("data", (m: { status: string }) => seen.push(m.status));
    const ended = new Promise<grpc.ServiceError>((r) => stream.on("error", r));
    // ctmd looks at the store every second: 2.5 s covers two looks that find nothing new.
    await new Promise((r) => setTimeout(r, 2500));
    expect(seen).toEqual(["SERVING"]);
    // A change does go out: draining turns the daemon NOT_SERVING before it closes.
    const stopped = daemon.stop();
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    // ctmd ends the stream itself: an open Health/Watch must not hold the drain for its grace period.
    expect(await stopped).toBe(0);
    expect((await ended).code).toBe(grpc.status.UNAVAILABLE);
    expect(daemon.logs.map((l) => l.msg)).not.toContain("calls still running after the grace period; forcing shutdown");
  });

  it("answers SERVING while the daemon runs; the container probe exits 0", async () => {
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    expect(await probe(daemon.address)).toEqual({ code: 0, out: "SERVING" });
  });

  it("turns NOT_SERVING when the store fails (a full disk), and writes answer UNAVAILABLE", async () => {
    // A real failure: LevelDB on a 2 MiB tmpfs that fills up.
    const dir = await mkdtemp(join(tmpdir(), "ctm-full-"));
    await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir]);
    cleanups.push(() => rm(dir, { recursive: true, force: true }), () => run("umount", ["-l", dir]));
    const daemon = await Daemon.start({ dataDir: dir });
    cleanups.push(() => daemon.dispose());
    const client = connect(daemon.address);
    cleanups.push(() => client.close());
    const c = api(client);

    const big = "z".repeat(200 * 1024);
    let failure: grpc.ServiceError | undefined;
    for (let i = 0; i < 40 && !failure; i++) {
      await c.set({ key: `fill/${i}`, value: big }).catch((e: grpc.ServiceError) => (failure = e));
    }
    expect(failure?.code).toBe(grpc.status.UNAVAILABLE);
    expect(failure?.details).toMatch(/store failed/);
    // Later writes are refused rather than acknowledged without durability.
    expect((await rejects(c.set({ key: "after", value: 1 }))).code).toBe(grpc.status.UNAVAILABLE);
    // The health loop notices within its one-second period.
    let status = await probe(daemon.address);
    for (let i = 0; i < 40 && status.out !== "NOT_SERVING"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await probe(daemon.address);
    }
    expect(status).toEqual({ code: 1, out: "NOT_SERVING" });
  });
});
