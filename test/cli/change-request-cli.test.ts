import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../helpers/daemon.js";
import { ctm, ctmJson, type CtmResult } from "./run-ctm.js";

let daemon: Daemon;
let A: string;
let dir: string;
beforeAll(async () => {
  daemon = await Daemon.start();
  A = daemon.address;
  dir = await mkdtemp(join(tmpdir(), "ctm-cli-cr-"));
});
afterAll(async () => {
  await daemon?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Runs as `author` (the CLI's --author: with auth off, the identity of a review). */
const as = (author: string, args: string[]): Promise<CtmResult> => ctm(A, ["--author", author, ...args]);

async function ok(args: string[], author = "tester"): Promise<CtmResult> {
  const r = await as(author, args);
  if (r.code !== 0) throw new Error(`ctm ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** An operations file, as `ctm apply` reads it. */
async function opsFile(name: string, ops: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(ops));
  return file;
}

/** The value of a "label  value" line of the fields a cr command prints. */
const field = (out: string, label: string): string | undefined => new RegExp(`^${label} +(.*)$`, "m").exec(out)?.[1];

/** The cells of the one table row holding `cell`. */
function rowWith(text: string, cell: string): string[] {
  const rows = text
    .split("\n")
    .filter((l) => l.startsWith("│"))
    .map((l) =>
      l
        .split("│")
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .filter((r) => r.includes(cell));
  if (rows.length !== 1) throw new Error(`expected one row with "${cell}", got ${rows.length}:\n${text}`);
  return rows[0]!;
}

type Cr = { id: string; state: string; approvals?: { principal: string }[]; conflict?: string; baseRevision?: number; appliedRevision?: number };

async function create(file: string, title: string, extra: string[] = []): Promise<string> {
  const r = await ok(["cr", "create", "-f", file, "-t", title, ...extra]);
  const id = field(r.stdout, "id");
  expect(id).toMatch(/^[0-9a-f]{12}$/);
  return id!;
}

const show = async (id: string): Promise<Cr> => (await ctmJson<{ changeRequest: Cr }>(A, ["cr", "show", id])).changeRequest;

describe("ctm cr --help", () => {
  it("lists the cr commands under their own heading", async () => {
    const r = await ctm(undefined, ["--help"]);
    expect(r.stdout).toMatch(/\nChange requests:\n {2}cr /);
    const cr = await ctm(undefined, ["cr", "--help"]);
    for (const c of ["create", "list", "show", "approve", "reject", "cancel", "submit", "edit", "apply"]) expect(cr.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
  });
});

describe("ctm cr: operations files and usage", () => {
  it("refuses a compare-and-set and a forced delete in the file (3, naming the field), before any call", async () => {
    const cas = await opsFile("cas.json", [{ set: { key: "a", value: 1, expected_version: 0 } }]);
    expect((await ctm("127.0.0.1:1", ["cr", "create", "-f", cas, "-t", "t"])).stderr).toMatch(/operations\[0\]\.set\.expected_version: .*base revision/);
    const forced = await opsFile("forced.json", [{ delete: { key: "a", force: true } }]);
    expect((await ctm("127.0.0.1:1", ["cr", "create", "-f", forced, "-t", "t"])).code).toBe(3);
  });

  it("needs a title (-t, or the file's message) and a file; --state takes the states only", async () => {
    const plain = await opsFile("plain.json", [{ set: { key: "a", value: 1 } }]);
    const untitled = await ctm("127.0.0.1:1", ["cr", "create", "-f", plain]);
    expect(untitled.code).toBe(3);
    expect(untitled.stderr).toMatch(/^ctm: INVALID_ARGUMENT: title: is required/);
    expect((await ctm("127.0.0.1:1", ["cr", "create", "-t", "t"])).code).toBe(2);
    expect((await ctm("127.0.0.1:1", ["cr", "list", "--state", "open"])).code).toBe(2);
    expect((await ctm("127.0.0.1:1", ["cr", "show"])).code).toBe(2);
  });
});

describe("ctm cr against a protection policy that asks for 2 approvals", () => {
  let ops: string;
  let id: string;

  beforeAll(async () => {
    await ok(["set", "pay/limit", '{"max":100,"currency":"EUR"}']);
    await ok(["set", "pay/legacy", "true"]);
    await ok(["set", "_ctm/policies/payments", '{"keys":["pay/**"],"approvals":2}']);
    ops = await opsFile("ops.json", {
      operations: [{ set: { key: "pay/limit", value: { max: 200, currency: "EUR" } } }, { set: { key: "pay/cap", value: 30 } }, { delete: { key: "pay/legacy" } }],
    });
  });

  it("create prints the id and state; --json prints the response", async () => {
    const r = await ok(["cr", "create", "-f", ops, "-t", "raise the limit", "-d", "Q4 volumes"]);
    expect(r.stdout).toMatch(/^✓ proposed change request [0-9a-f]{12}$/m);
    id = field(r.stdout, "id")!;
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    expect(field(r.stdout, "state")).toBe("in-review");
    expect(field(r.stdout, "approvals")).toBe("0 of 2 (policy payments)");

    const j = await ctmJson<{ changeRequest: Cr & { title: string; author: string; approvalsRequired: number; operations: unknown[] } }>(A, ["cr", "create", "-f", ops, "-t", "second"]);
    expect(j.changeRequest).toMatchObject({ title: "second", author: "tester", state: "CHANGE_REQUEST_STATE_IN_REVIEW", approvalsRequired: 2 });
    expect(j.changeRequest.operations).toEqual([{ set: { key: "pay/limit", value: { max: 200, currency: "EUR" } } }, { set: { key: "pay/cap", value: 30 } }, { delete: { key: "pay/legacy" } }]);
    await ok(["cr", "cancel", j.changeRequest.id]);
  });

  it("list: a table (id, state, title, author, approvals n/m, updated), filters, --json", async () => {
    const r = await ok(["cr", "list"]);
    expect(rowWith(r.stdout, id)).toEqual([id, "in-review", "raise the limit", "tester", "0/2", expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/)]);
    expect(r.stdout.split("\n")[1]).toMatch(/id.*state.*title.*author.*approvals.*updated/);
    expect((await ok(["cr", "list", "--state", "approved"])).stdout).toBe("no change requests in state approved\n");
    expect((await ok(["cr", "list", "--prefix", "other/"])).stdout).toBe("no change requests\n");
    const j = await ctmJson<{ changeRequests: Cr[] }>(A, ["cr", "list", "--state", "in-review", "--prefix", "pay/"]);
    expect(j.changeRequests.map((c) => c.id)).toEqual([id]);
  });

  it("show: the fields, and per key the live value beside the proposed one; --patch; --json", async () => {
    const r = await ok(["cr", "show", id]);
    expect(field(r.stdout, "title")).toBe("raise the limit");
    expect(field(r.stdout, "description")).toBe("Q4 volumes");
    expect(field(r.stdout, "author")).toBe("tester");
    expect(r.stdout).toMatch(/^set pay\/limit\n--- v1 \(rev 1, tester, .*\)\n\+\+\+ proposed\n/m);
    expect(r.stdout).toMatch(/^ {2}"max": 100, +\| +"max": 200,$/m);
    expect(r.stdout).toMatch(/^new pay\/cap\n--- \(none\)\n\+\+\+ proposed\n +> 30$/m);
    expect(r.stdout).toMatch(/^delete pay\/legacy\n--- v1 .*\n\+\+\+ \(deleted\)\ntrue <$/m);

    const colored = await ctm(A, ["cr", "show", id], { FORCE_COLOR: "1" });
    expect(colored.stdout).toContain("\x1b[31m  \"max\": 100,");
    expect(colored.stdout).toContain("\x1b[32m  \"max\": 200,");

    expect((await ok(["cr", "show", id, "--patch"])).stdout).toMatch(/^set pay\/limit\n\[\n {2}\{\n {4}"op": "replace",\n {4}"path": "\/max",\n {4}"value": 200/m);

    // Proto JSON leaves out what is empty: no live entry for a new key, no patch for a delete.
    const j = await ctmJson<{ changes: { key: string; deleted?: boolean; live?: { version: number }; operations?: unknown[] }[] }>(A, ["cr", "show", id]);
    expect(j.changes).toEqual([
      { key: "pay/limit", live: expect.objectContaining({ version: 1 }), operations: [{ op: "replace", path: "/max", value: 200 }] },
      { key: "pay/cap", operations: [{ op: "add", value: 30 }] },
      { key: "pay/legacy", live: expect.objectContaining({ version: 1 }), deleted: true },
    ]);
  });

  it("approve: never by its author, once per principal; approved after two; apply writes it and the value is live", async () => {
    const self = await ctm(A, ["cr", "approve", id]);
    expect(self.code).toBe(7);
    expect(self.stderr).toMatch(/^ctm: PERMISSION_DENIED: tester proposed this change request and may not approve it/);

    const first = await ok(["cr", "approve", id, "-m", "looks right"], "ana");
    expect(first.stdout).toMatch(/^✓ approved change request [0-9a-f]{12}$/m);
    expect(field(first.stdout, "state")).toBe("in-review");
    expect(first.stdout).toMatch(/^approvals +1 of 2 \(policy payments\)\n +ana {2}\S+Z {2}looks right$/m);
    expect((await as("ana", ["cr", "approve", id])).code).toBe(9);

    const early = await ctm(A, ["cr", "apply", id]);
    expect(early.code).toBe(9);
    expect(early.stderr).toMatch(/^ctm: FAILED_PRECONDITION: the change request is in review: it cannot be applied/);

    const second = await ctmJson<{ changeRequest: Cr }>(A, ["--author", "bob", "cr", "approve", id]);
    expect(second.changeRequest.state).toBe("CHANGE_REQUEST_STATE_APPROVED");
    expect(second.changeRequest.approvals!.map((a) => a.principal)).toEqual(["ana", "bob"]);
    expect(rowWith((await ok(["cr", "list", "--state", "approved"])).stdout, id)).toContain("2/2");

    const applied = await ok(["cr", "apply", id]);
    expect(applied.stdout).toMatch(/^✓ applied change request [0-9a-f]{12}: 3 operations in one batch \(revision \d+\)$/m);
    expect(rowWith(applied.stdout, "pay/limit")).toEqual(["pay/limit", "SET", "2", expect.any(String), '{"max":200,"currency":"EUR"}']);
    expect(rowWith(applied.stdout, "pay/legacy")).toContain("(deleted)");

    const live = await ctmJson<{ entry: { value: unknown; message: string } }>(A, ["get", "pay/limit"]);
    expect(live.entry.value).toEqual({ max: 200, currency: "EUR" });
    expect(live.entry.message).toBe(`change request ${id} "raise the limit", approved by ana, bob`);
    expect((await ctm(A, ["get", "pay/legacy"])).code).toBe(5);
    expect((await ctmJson<{ entry: { value: unknown } }>(A, ["get", "pay/cap"])).entry.value).toBe(30);

    const after = await ok(["cr", "show", id]);
    expect(field(after.stdout, "state")).toBe("applied");
    expect(field(after.stdout, "applied")).toMatch(/^revision \d+$/);
    expect((await ctm(A, ["cr", "apply", id])).code).toBe(9);
  });

  it("a key changed after the base revision: apply exits 10 (ABORTED), the request is failed with the conflict; edit rebases it", async () => {
    const file = await opsFile("limit.json", [{ set: { key: "pay/limit", value: { max: 300, currency: "EUR" } } }]);
    const cid = await create(file, "limit 300");
    const base = Number((await show(cid)).baseRevision);
    await ok(["cr", "approve", cid], "ana");
    await ok(["cr", "approve", cid], "bob");
    await ok(["--break-glass", "incident 1", "set", "pay/limit", '{"max":250,"currency":"EUR"}']);

    const refused = await ctm(A, ["cr", "apply", cid]);
    expect(refused.code).toBe(10);
    expect(refused.stderr).toMatch(new RegExp(`^ctm: ABORTED: "pay/limit" changed after revision ${base}, which the change request was written against`));
    expect(refused.stderr).toContain(`ctm cr show ${cid} shows the conflict; ctm cr edit ${cid} rebases it on the head`);

    const failed = await ok(["cr", "show", cid]);
    expect(field(failed.stdout, "state")).toBe("failed");
    expect(field(failed.stdout, "conflict")).toMatch(/^"pay\/limit" changed after revision \d+/);
    // The diff is against the live value now: the one written meanwhile.
    expect(failed.stdout).toMatch(/^ {2}"max": 250, +\| +"max": 300,$/m);
    expect((await show(cid)).conflict).toMatch(/pay\/limit/);
    expect(rowWith((await ok(["cr", "list", "--state", "failed"])).stdout, cid)).toContain("failed");

    // Only its author edits it; an edit resets the approvals and moves the base to the head.
    expect((await as("ana", ["cr", "edit", cid])).code).toBe(7);
    const edited = await ok(["cr", "edit", cid, "-t", "limit 300, rebased"]);
    expect(field(edited.stdout, "state")).toBe("in-review");
    expect(field(edited.stdout, "approvals")).toBe("0 of 2 (policy payments)");
    expect(Number(field(edited.stdout, "base revision"))).toBeGreaterThan(base);
    expect((await show(cid)).conflict).toBeUndefined();

    await ok(["cr", "approve", cid], "ana");
    await ok(["cr", "approve", cid], "bob");
    await ok(["cr", "apply", cid]);
    expect((await ctmJson<{ entry: { value: unknown } }>(A, ["get", "pay/limit"])).entry.value).toEqual({ max: 300, currency: "EUR" });
  });

  it("edit -f replaces the operations", async () => {
    const cid = await create(await opsFile("cap-40.json", [{ set: { key: "pay/cap", value: 40 } }]), "cap 40");
    await ok(["cr", "edit", cid, "-f", await opsFile("cap-50.json", [{ set: { key: "pay/cap", value: 50 } }]), "-d", "a little more"]);
    const j = await ctmJson<{ changeRequest: Cr & { description: string; operations: unknown[] } }>(A, ["cr", "show", cid]);
    expect(j.changeRequest.operations).toEqual([{ set: { key: "pay/cap", value: 50 } }]);
    expect(j.changeRequest.description).toBe("a little more");
    await ok(["cr", "cancel", cid]);
  });

  it("reject and cancel end a request; neither ends one that has ended", async () => {
    const file = await opsFile("cap.json", [{ set: { key: "pay/cap", value: 99 } }]);
    const rid = await create(file, "cap 99");
    const rejected = await ok(["cr", "reject", rid, "-m", "too much"], "ana");
    expect(rejected.stdout).toMatch(/^✓ rejected change request/m);
    expect(field(rejected.stdout, "state")).toBe("rejected");
    expect(field(rejected.stdout, "rejected")).toMatch(/^ana {2}\S+Z {2}too much$/);
    expect((await ctm(A, ["cr", "cancel", rid])).code).toBe(9);
    expect((await as("ana", ["cr", "approve", rid])).code).toBe(9);

    const cid = await create(file, "cap 99 again");
    expect((await as("ana", ["cr", "cancel", cid])).code).toBe(7);
    const cancelled = await ctmJson<{ changeRequest: Cr }>(A, ["cr", "cancel", cid, "-m", "not now"]);
    expect(cancelled.changeRequest.state).toBe("CHANGE_REQUEST_STATE_CANCELLED");
    expect((await as("ana", ["cr", "reject", cid])).code).toBe(9);

    expect(rowWith((await ok(["cr", "list", "--state", "rejected"])).stdout, rid)).toContain("rejected");
    expect(rowWith((await ok(["cr", "list", "--state", "cancelled"])).stdout, cid)).toContain("cancelled");
    expect((await ctmJson<{ entry: { value: unknown } }>(A, ["get", "pay/cap"])).entry.value).toBe(30);
  });

  it("a draft is submitted by its author; apply --at schedules an approved request", async () => {
    const file = await opsFile("cap-35.json", [{ set: { key: "pay/cap", value: 35 } }]);
    const did = await create(file, "cap 35", ["--draft"]);
    expect(rowWith((await ok(["cr", "list", "--state", "draft"])).stdout, did)).toContain("draft");
    expect(field((await ok(["cr", "submit", did])).stdout, "state")).toBe("in-review");
    await ok(["cr", "approve", did], "ana");
    await ok(["cr", "approve", did], "bob");
    const scheduled = await ok(["cr", "apply", did, "--at", "in 1h"]);
    expect(scheduled.stdout).toMatch(/^✓ scheduled change request [0-9a-f]{12} for \S+Z \(in \d+m\)$/m);
    expect(field((await ok(["cr", "show", did])).stdout, "scheduled")).toMatch(/\(in \d+m\)$/);
    await ok(["cr", "cancel", did]);
  });

  it("an unknown id is NOT_FOUND (5); a malformed one INVALID_ARGUMENT (3)", async () => {
    expect((await ctm(A, ["cr", "show", "0123456789ab"])).code).toBe(5);
    expect((await ctm(A, ["cr", "approve", "nope"])).code).toBe(3);
  });
});

describe("ctm cr with a rollout plan in the file", () => {
  it("proposes it, shows it, and the applied record rolls the value out", async () => {
    await ok(["set", "ro/flag", "false"]);
    const file = await opsFile("rollout.json", { operations: [{ set: { key: "ro/flag", value: true, rollout: { steps: { start: 10, increment: 10, interval: "300s", target: 100 } } } }] });
    const id = await create(file, "roll it out");
    expect((await ok(["cr", "show", id])).stdout).toMatch(/rolled out: .*10%/);
    await as("bo", ["cr", "approve", id]);
    const applied = await ctmJson<{ entries: { key: string; changeRequest: string; rollout?: { plan: { steps?: unknown } } }[] }>(A, ["--author", "cy", "cr", "apply", id]);
    expect(applied.entries).toEqual([expect.objectContaining({ key: "ro/flag", changeRequest: id, rollout: expect.objectContaining({ plan: expect.objectContaining({ steps: expect.anything() }) }) })]);
  });
});
