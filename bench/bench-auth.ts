import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { type BenchContext, h2label, settle } from "./bench-context.js";
import { stop } from "./child-processes.js";
import { fixture } from "./fixture.js";
import { formatRate, formatRatio, formatUs } from "./format.js";
import { h2clean, h2counts } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import { startCtmd, type CtmdHandle } from "./start-ctmd.js";

/**
 * Get at c64 on a daemon with --auth on (each request carries a bearer token: authentication,
 * authorization and the principal's context on every call) against the default daemon with
 * auth off, in alternating rounds (goal: at least 0.9×); then both sending the same header, which
 * the auth-off daemon ignores, to separate the chain's own cost from the token's on the wire.
 */
export async function benchAuth(ctx: BenchContext, off: CtmdHandle): Promise<void> {
  const { report } = ctx;
  const dir = join(ctx.work, "auth-on");
  mkdirSync(dir, { recursive: true });
  const on = await startCtmd(ctx.children, dir, ["--auth", "on"]);
  const token = readFileSync(join(on.dataDir, "admin.token"), "utf8").trim();
  const authorization = `Bearer ${token}`;
  const client = new RawClient(on.address, 1, { authorization });
  try {
    const seeded = await client.unary(paths.set, fixture.seedRequest());
    const anonymous = new RawClient(on.address);
    const refused = await anonymous.unary(paths.get, fixture.getRequest());
    anonymous.close();
    report.check(
      seeded.code === grpc.status.OK && refused.code === grpc.status.UNAUTHENTICATED,
      `ctmd --auth on: seed Set with the bearer token ${grpc.status[seeded.code]}; a Get without it ${grpc.status[refused.code]}`,
    );
    const level = settings.c64;
    const frame = ctx.frame("ctm-get", fixture.getRequest());
    ctx.log("Get, auth on (bearer token) vs auth off, c64");
    on.rpcLog.mark();
    const p = await pairedRuns(
      ctx,
      { label: "ctmd Get, auth off", process: off.child, address: off.address, lastWords: off.lastWords },
      { label: "ctmd Get, auth on", process: on.child, address: on.address, lastWords: on.lastWords, headers: [`authorization: ${authorization}`] },
      paths.get,
      frame,
      level,
    );
    await settle();
    // h2load counts every HTTP 200 as a success, gRPC refusals included: the daemon's own log says how many Gets it served.
    const tally = on.rpcLog.tally("Get");
    const mine = totals(p.mine.runs);
    report.check(
      p.mine.runs.every((r) => h2clean(r, 64)) && p.base.runs.every((r) => h2clean(r, 64)) && tally.failed === 0 && tally.ok >= mine.succeeded,
      `auth on, ${p.mine.runs.length} runs: ${h2counts(mine)}; the daemon logged ${tally.ok} OK and ${tally.failed} refused Gets (incl. warm-up)`,
    );
    report.row(`Get req/s, c64 (${h2label(level)}), auth on (bearer token) vs auth off (goal ≥ 0.9×)`, formatRate(p.mine.reqPerSec), formatRate(p.base.reqPerSec), formatRatio(p.mine.reqPerSec, p.base.reqPerSec, p.ratio));
    report.row(`Get main-thread CPU per request, c64, auth on vs off`, formatUs(p.mine.mainUsPerRequest), formatUs(p.base.mainUsPerRequest), formatRatio(p.mine.mainUsPerRequest, p.base.mainUsPerRequest));
    report.note(`Auth on ÷ off per round (the row shows the median): ${p.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
    // HPACK never indexes an authorization header (RFC 7541 §7.1.3; nghttp2 in h2load, node and
    // grpc-go), so every call carries and decodes the token. Sending the same header to the daemon
    // with auth off, which ignores it, separates that wire cost from the chain's own.
    const q = await pairedRuns(
      ctx,
      { label: "ctmd Get, auth off, same header", process: off.child, address: off.address, lastWords: off.lastWords, headers: [`authorization: ${authorization}`] },
      { label: "ctmd Get, auth on", process: on.child, address: on.address, lastWords: on.lastWords, headers: [`authorization: ${authorization}`] },
      paths.get,
      frame,
      level,
    );
    await settle();
    // tally() counts the lines logged since the previous tally: this pairing only.
    const after = on.rpcLog.tally("Get");
    const second = totals(q.mine.runs);
    report.check(
      [...q.mine.runs, ...q.base.runs].every((r) => h2clean(r, 64)) && after.failed === 0 && after.ok >= second.succeeded,
      `auth on, same-header pairing, ${q.mine.runs.length} runs: ${h2counts(second)}; the daemon logged ${after.ok} OK and ${after.failed} refused Gets (incl. warm-up)`,
    );
    report.row(`Get req/s, c64, auth on vs auth off with the same authorization header (the chain's own cost)`, formatRate(q.mine.reqPerSec), formatRate(q.base.reqPerSec), formatRatio(q.mine.reqPerSec, q.base.reqPerSec, q.ratio));
    report.row(`Get main-thread CPU per request, c64, auth on vs off, both with the header`, formatUs(q.mine.mainUsPerRequest), formatUs(q.base.mainUsPerRequest), formatRatio(q.mine.mainUsPerRequest, q.base.mainUsPerRequest));
    report.note(`Auth on ÷ off, both sent the header, per round: ${q.ratios.map((r) => r.toFixed(2)).join(", ")}.`);
  } finally {
    client.close();
    await stop(on.child);
  }
}
