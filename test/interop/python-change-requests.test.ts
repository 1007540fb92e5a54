/**
 * The Python client's `Client.change_requests` against a real ctmd with --auth off: the script
 * (test/interop/python/change_requests_check.py) checks every answer itself; the test then reads
 * what it left behind with the TypeScript SDK, and checks the Python retry rule for the eight calls.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeRequestState, CtmClient } from "../../clients/ts/src/index.js";
import { Daemon } from "../helpers/daemon.js";
import { freePort, PY_ENV, PYTHON, ROOT, run } from "./helpers.js";

const SCRIPT = `${ROOT}/test/interop/python/change_requests_check.py`;
let daemon: Daemon;
beforeAll(async () => {
  daemon = await Daemon.start();
});
afterAll(async () => {
  await daemon?.dispose();
});

describe("the Python client's change_requests", () => {
  it("create, approve by two authors, a conflicting apply (ABORTED, FAILED), edit resets approvals, apply; reject, cancel, a draft, a scheduled apply, list", async () => {
    const out = JSON.parse((await run(PYTHON, [SCRIPT, "--addr", daemon.address, "--prefix", "py/"], { env: PY_ENV, timeoutMs: 40_000 })).stdout) as {
      id: string;
      rejected: string;
      cancelled: string;
      scheduled: string;
      draft: string;
      checks: number;
    };
    expect(out.checks).toBeGreaterThan(30);

    const c = new CtmClient({ address: daemon.address });
    try {
      const got = await c.changeRequests.getChangeRequest(out.id);
      expect(got.changeRequest).toMatchObject({ state: ChangeRequestState.CHANGE_REQUEST_STATE_APPLIED, author: "ana", approvals: [{ principal: "bob" }, { principal: "cy" }] });
      const h = await c.history("py/fee");
      expect(h.entries.map((e) => [e.version, e.author, e.breakGlass, e.changeRequest])).toEqual([
        [3, "ana", false, out.id],
        [2, "oncall", true, ""],
        [1, "ana", false, ""],
      ]);
      const states = (await c.changeRequests.listChangeRequests({ prefix: "py/" })).changeRequests.map((x) => [x.id, x.state]);
      expect(states).toEqual([
        [out.scheduled, ChangeRequestState.CHANGE_REQUEST_STATE_CANCELLED],
        [out.draft, ChangeRequestState.CHANGE_REQUEST_STATE_REJECTED],
        [out.cancelled, ChangeRequestState.CHANGE_REQUEST_STATE_CANCELLED],
        [out.rejected, ChangeRequestState.CHANGE_REQUEST_STATE_REJECTED],
        [out.id, ChangeRequestState.CHANGE_REQUEST_STATE_APPLIED],
      ]);
    } finally {
      c.close();
    }
  });

  it("retries the two reads after UNAVAILABLE, never the writes (ctm.retry)", async () => {
    // Attempts against an address where nothing listens, counted by an interceptor, and the rule itself.
    const code = `import json, sys, grpc
from ctm import retry
from ctm.client import Client, CtmError, set_op
from ctm.v1 import change_request_service_pb2 as pb
attempts = {"n": 0}
class Count(grpc.UnaryUnaryClientInterceptor):
    def intercept_unary_unary(self, continuation, details, request):
        attempts["n"] += 1
        return continuation(details, request)
c = Client(sys.argv[1], channel=grpc.intercept_channel(grpc.insecure_channel(sys.argv[1]), Count()), timeout=20)
def count(f):
    attempts["n"] = 0
    try:
        f()
    except CtmError as e:
        assert e.code == grpc.StatusCode.UNAVAILABLE, e
    return attempts["n"]
cr = c.change_requests
tried = {"get": count(lambda: cr.get_change_request("000000000000")), "list": count(lambda: cr.list_change_requests()), "create": count(lambda: cr.create_change_request("t", [set_op("k", 1)])), "submit": count(lambda: cr.submit_change_request("000000000000")), "apply": count(lambda: cr.apply_change_request("000000000000"))}
names = [m.name for m in pb.DESCRIPTOR.services_by_name["ChangeRequestService"].methods]
print(json.dumps({"tried": tried, "safe": {n: retry.is_retry_safe(f"/ctm.v1.ChangeRequestService/{n}", getattr(pb, n + "Request")()) for n in names}}))`;
    const { stdout } = await run(PYTHON, ["-c", code, `127.0.0.1:${await freePort()}`], { env: PY_ENV, timeoutMs: 60_000 });
    const out = JSON.parse(stdout) as { tried: Record<string, number>; safe: Record<string, boolean> };
    expect(out.tried).toEqual({ get: 5, list: 5, create: 1, submit: 1, apply: 1 });
    expect(out.safe).toEqual({
      CreateChangeRequest: false,
      SubmitChangeRequest: false,
      GetChangeRequest: true,
      ListChangeRequests: true,
      EditChangeRequest: false,
      ApproveChangeRequest: false,
      RejectChangeRequest: false,
      CancelChangeRequest: false,
      ApplyChangeRequest: false,
    });
  }, 90_000);
});
