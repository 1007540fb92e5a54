import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
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

describe("grpc.health.v1", () => {
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
