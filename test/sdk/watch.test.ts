import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CtmError, type Entry } from "../../clients/ts/src/index.js";
import { Daemon } from "../helpers/daemon.js";
import { client, defer, startDaemon, until } from "./helpers.js";

describe("CtmClient.watch", () => {
  it("survives SIGKILL and restart mid-stream: yields exactly the written revisions, in order, once", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const written: number[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await c.set("noise/a", i); // other keys interleave: the watch must skip them
        written.push((await c.set("sdk/flag", { n: written.length })).entry!.revision);
      }
    };

    await write(4);
    const it = c.watch("sdk/flag", { startRevision: written[0]! });
    defer(() => it.close());
    const got: Entry[] = [];
    const take = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await it.next();
        if (r.done) throw new Error("the watch ended");
        got.push(r.value);
      }
    };
    await take(2); // mid-stream: two written events are not consumed yet
    expect(it.reconnects).toBe(0);

    // The consumer is waiting for more while the daemon dies without a chance to flush.
    const pending = take(2 + 5);
    pending.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
    await daemon.kill();
    // Writes are impossible while it is down (a plain Set is not retried: it fails).
    const down = await c.set("sdk/flag", "during downtime", { deadlineMs: 5_000 }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(CtmError);
    expect((down as CtmError).code).toBe(grpc.status.UNAVAILABLE);
    expect((down as CtmError).attempts).toBe(1);

    await daemon.launch(); // same data directory, same address
    await until(() => it.connected, "the watch reconnects on its own");
    await write(5);
    await pending;

    expect(got.map((e) => e.revision)).toEqual(written);
    expect(got.map((e) => (e.value as { n: number }).n)).toEqual(written.map((_, i) => i));
    expect(got.every((e) => e.key === "sdk/flag")).toBe(true);
    expect(it.reconnects).toBeGreaterThanOrEqual(1);
    expect(it.nextRevision).toBe(written[written.length - 1]! + 1);

    // Nothing is repeated after the resume: the next event is the next write.
    await write(1);
    await take(1);
    expect(got.map((e) => e.revision)).toEqual(written);
  });

  it("a watch from now (startRevision 0) resumes after a graceful restart too, and prefix watches see every key under the prefix", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    await c.set("app/before", 1); // before the watch: not yielded
    const it = c.watch("app/", { prefix: true });
    defer(() => it.close());
    const first = it.next(); // starts the stream
    await until(() => it.connected, "the watch is registered");
    const revs = [(await c.set("app/a", 1)).entry!.revision];
    await c.set("zzz", 1);
    expect((await first).value!.revision).toBe(revs[0]);

    const next = [it.next(), it.next()]; // the consumer waits across the restart
    await daemon.restart(); // SIGTERM: the stream ends with UNAVAILABLE
    await until(() => it.connected && it.reconnects > 0, "the watch reconnects on its own");
    revs.push((await c.set("app/b", 2)).entry!.revision, (await c.delete("app/a")).entry!.revision);
    const after = (await Promise.all(next)).map((r) => r.value!);
    expect(after.map((e) => [e.key, e.revision, e.deleted])).toEqual([
      ["app/b", revs[1], false],
      ["app/a", revs[2], true],
    ]);
    expect(it.reconnects).toBeGreaterThanOrEqual(1);
  });

  it("breaking out of for-await cancels the stream on the daemon", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const r1 = await c.set("k", 1);
    await c.set("k", 2);
    const seen: number[] = [];
    for await (const e of c.watch("k", { startRevision: r1.entry!.revision })) {
      seen.push(e.value as number);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    await until(() => daemon.logs.some((l) => l.method === "Watch" && l.status === "CANCELLED"), "the daemon logs the cancelled Watch");
  });

  it("an error resuming cannot fix ends the iterator with a CtmError instead of retrying forever", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const it = c.watch("not a valid key!");
    const err = await it.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CtmError);
    expect((err as CtmError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(it.reconnects).toBe(0);
  });

  it("an abort signal ends a watch that waits (done, not an error), even while the daemon is down", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    const stop = new AbortController();
    const it = c.watch("k", { signal: stop.signal });
    const pending = it.next();
    await until(() => it.connected, "the watch is registered");
    await daemon.kill();
    await until(() => !it.connected, "the watch notices the daemon is gone");
    stop.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("a daemon that comes back with an older store (its head went backwards) ends the watch with DATA_LOSS instead of skipping revisions", async () => {
    const daemon = await startDaemon();
    const c = client(daemon.address);
    for (let i = 0; i < 3; i++) await c.set("k", i);
    const it = c.watch("k", { startRevision: 1 });
    defer(() => it.close());
    for (let i = 0; i < 3; i++) await it.next();
    const pending = it.next().catch((e: unknown) => e);
    await daemon.kill();
    const fresh = await Daemon.start({ args: ["--listen", daemon.address] }); // same address, empty store
    defer(() => fresh.dispose());
    const err = (await pending) as CtmError;
    expect(err).toBeInstanceOf(CtmError);
    expect(err.code).toBe(grpc.status.DATA_LOSS);
  });
});
