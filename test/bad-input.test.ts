import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { api, rejects, connect, headRevision, type Client } from "./helpers/client.js";
import { Daemon } from "./helpers/daemon.js";

let daemon: Daemon;
let client: Client;
let c: ReturnType<typeof api>;
let seededAt: Date;

beforeAll(async () => {
  daemon = await Daemon.start();
  client = connect(daemon.address);
  c = api(client);
  await new Promise((r) => setTimeout(r, 20));
  seededAt = new Date();
  await c.set({ key: "k", value: 1 });
  await c.set({ key: "k", value: 2 });
});
afterAll(async () => {
  client.close();
  await daemon.dispose();
});

const big = "x".repeat(256 * 1024);
const cases: [string, () => Promise<unknown>, grpc.status, RegExp][] = [
  ["empty key", () => c.set({ key: "", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: must not be empty/],
  ["over-long key", () => c.set({ key: "a".repeat(257), value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: must be at most 256 bytes/],
  ["key with a space", () => c.set({ key: "a b", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: may hold only/],
  ["key with a NUL", () => c.set({ key: "a\0b", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: may hold only/],
  ["key starting with /", () => c.set({ key: "/etc", value: 1 }), grpc.status.INVALID_ARGUMENT, /^key: /],
  ["missing value", () => c.set({ key: "k2" }), grpc.status.INVALID_ARGUMENT, /^value: is required/],
  ["value over 256 KiB", () => c.set({ key: "k2", value: big }), grpc.status.INVALID_ARGUMENT, /^value: is \d+ bytes as JSON; the limit is 262144/],
  ["over-long author", () => c.set({ key: "k2", value: 1, author: "a".repeat(300) }), grpc.status.INVALID_ARGUMENT, /^author: /],
  ["expected_version mismatch", () => c.set({ key: "k", value: 3, expectedVersion: 1 }), grpc.status.ABORTED, /expected_version 1 does not match the current version 2/],
  ["create-only on an existing key", () => c.set({ key: "k", value: 3, expectedVersion: 0 }), grpc.status.ABORTED, /current version 2/],
  ["delete with a stale version", () => c.delete({ key: "k", expectedVersion: 1 }), grpc.status.ABORTED, /expected_version/],
  ["delete of an unknown key", () => c.delete({ key: "nope" }), grpc.status.NOT_FOUND, /"nope" does not exist/],
  ["rollback to an unknown version", () => c.rollback({ key: "k", toVersion: 9 }), grpc.status.INVALID_ARGUMENT, /^to_version: must be older than the current version 2/],
  ["rollback of an unknown key", () => c.rollback({ key: "nope" }), grpc.status.NOT_FOUND, /does not exist/],
  ["rollback with a stale version", () => c.rollback({ key: "k", expectedVersion: 1 }), grpc.status.ABORTED, /expected_version/],
  ["diff to an unknown version", () => c.diff({ key: "k", toVersion: 9 }), grpc.status.NOT_FOUND, /^to_version: version 9 of "k" does not exist \(the latest is 2\)/],
  ["diff from an unknown version", () => c.diff({ key: "k", fromVersion: 5, toVersion: 2 }), grpc.status.NOT_FOUND, /^from_version: version 5/],
  ["history with a forged page token", () => c.history({ key: "k", pageToken: "garbage" }), grpc.status.INVALID_ARGUMENT, /^page_token: /],
  ["GetAt a time before the first record", () => c.getAt({ key: "k", at: { $case: "time", value: new Date(seededAt.getTime() - 60_000) } }), grpc.status.OUT_OF_RANGE, /^at\.time: .* is before the first record/],
  ["GetAt a future time", () => c.getAt({ key: "k", at: { $case: "time", value: new Date(Date.now() + 3_600_000) } }), grpc.status.OUT_OF_RANGE, /^at\.time: .* is in the future/],
  ["GetAt a future revision", () => c.getAt({ key: "k", at: { $case: "revision", value: 1_000_000 } }), grpc.status.OUT_OF_RANGE, /^at\.revision: revision 1000000 is ahead of the head revision \d+/],
  ["GetAt with no point in time", () => c.getAt({ key: "k" }), grpc.status.INVALID_ARGUMENT, /^at: a time or a revision is required/],
  ["Snapshot at a future revision", () => c.snapshot({ prefix: "", at: { $case: "revision", value: 1_000_000 } }), grpc.status.OUT_OF_RANGE, /ahead of the head revision/],
  ["RollbackPrefix to before the first record", () => c.rollbackPrefix({ prefix: "", to: { $case: "time", value: new Date(0) } }), grpc.status.OUT_OF_RANGE, /^to\.time: .* before the first record/],
  ["Apply with no operations", () => c.apply({ operations: [] }), grpc.status.INVALID_ARGUMENT, /^operations: must hold at least one/],
  ["Apply with a bad key in op 2", () => c.apply({ operations: [{ operation: { $case: "set", value: { key: "ok", value: 1 } } }, { operation: { $case: "set", value: { key: "", value: 1 } } }] }), grpc.status.INVALID_ARGUMENT, /^operations\[1\]\.set\.key: must not be empty/],
  ["Get of an unknown key", () => c.get({ key: "missing" }), grpc.status.NOT_FOUND, /"missing" does not exist/],
];

describe("bad input gets a clear status and writes nothing", () => {
  it.each(cases)("%s", async (_name, run, code, message) => {
    const before = await headRevision(client);
    const err = await rejects(run());
    expect(grpc.status[err.code]).toBe(grpc.status[code]);
    expect(err.details).toMatch(message);
    expect(await headRevision(client)).toBe(before);
  });

  it("INVALID_ARGUMENT names the field in the ctm-field trailer", async () => {
    const err = await rejects(c.set({ key: "", value: 1 }));
    expect(err.metadata.get("ctm-field")).toEqual(["key"]);
  });
});
