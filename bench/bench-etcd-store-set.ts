import { type BenchContext, h2label, type LoadTarget, settle } from "./bench-context.js";
import { etcdPutRequest } from "./etcd-messages.js";
import { fixture } from "./fixture.js";
import { formatMs, formatRate, formatRatio } from "./format.js";
import { failuresText, h2clean, h2counts, onlyCutOff } from "./load-checks.js";
import { pairedRuns, totals } from "./paired-runs.js";
import { metric } from "./metric.js";
import { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";
import type { CtmdHandle } from "./start-ctmd.js";
import type { EtcdHandle } from "./start-etcd.js";
import { versionOf } from "./version-of.js";

/**
 * ctmd --store etcd's durable Set at c64 against etcd's Put sent straight to the etcd it writes
 * to, in alternating rounds: what ctmd adds to every write. `etcd` is the member that takes the
 * Puts (the one the replica dials first) with `handled` counting over the whole cluster; `where`
 * names that etcd, and `goal` is shown in the row.
 */
export async function benchEtcdStoreSet(ctx: BenchContext, replica: CtmdHandle, etcd: EtcdHandle, where: string, goal = ""): Promise<void> {
  const { report } = ctx;
  const c64 = settings.c64;
  ctx.log(`ctmd --store etcd Set vs etcd Put, ${where}, c64`);
  const client = new RawClient(replica.address, 1);
  const versionBefore = await versionOf(client, fixture.setKey, true);
  const before = await etcd.handled("Put");
  const commits = async () => ({ transactions: await metric(replica.metrics, "ctm_store_batches_total"), records: await metric(replica.metrics, "ctm_store_records_total") });
  const commitsBefore = await commits();
  replica.rpcLog.mark();
  const name = where.replace(/[^a-z0-9]+/gi, "-");
  const put: LoadTarget = { label: `etcd Put (${where})`, process: etcd.child, address: etcd.address, path: paths.put, frameFile: ctx.frame(`etcd-store-Put-${name}`, etcdPutRequest(fixture.setKey, JSON.stringify(fixture.value))) };
  const set: LoadTarget = { label: `ctmd --store etcd Set (${where})`, process: replica.child, address: replica.address, lastWords: replica.lastWords, path: paths.set, frameFile: ctx.frame(`etcd-store-Set-${name}`, fixture.setRequest()) };
  const w = await pairedRuns(ctx, put, set, paths.set, set.frameFile!, c64);
  await settle();
  const after = await etcd.handled("Put");
  const commitsAfter = await commits();
  const perTransaction = (commitsAfter.records - commitsBefore.records) / (commitsAfter.transactions - commitsBefore.transactions);
  const tally = replica.rpcLog.tally("Set");
  const applied = (await versionOf(client, fixture.setKey, true)) - versionBefore;
  client.close();
  const mine = totals(w.mine.runs);
  const base = totals(w.base.runs);
  const failures = Object.fromEntries(Object.entries(after.failures).map(([code, n]): [string, number] => [code, n - (before.failures[code] ?? 0)]).filter(([, n]) => n > 0));
  // Each h2load run may cut off the calls in flight when it stops: 64 per run.
  const cutOff = 64 * w.mine.runs.length;
  report.check(
    [...w.mine.runs, ...w.base.runs].every((r) => h2clean(r, 64)) &&
      onlyCutOff(tally.failures, cutOff) &&
      tally.ok >= mine.succeeded &&
      applied >= tally.ok &&
      onlyCutOff(failures, cutOff) &&
      after.ok - before.ok >= base.succeeded,
    `ctmd --store etcd Set vs etcd Put (${where}), ${w.mine.runs.length} rounds: ctmd ${h2counts(mine)}, logged ${tally.ok} OK${failuresText(tally.failures)}, the key's version (a consistent Get) grew by ${applied}; etcd ${h2counts(base)}, grpc_server_handled_total grew by ${after.ok - before.ok} OK${failuresText(failures)} (incl. warm-up)`,
  );
  report.row(`Durable Set req/s, c64 (${h2label(c64)}, one key), ctmd --store etcd vs etcd Put, on ${where}${goal ? ` (${goal})` : ""}`, formatRate(w.mine.reqPerSec), formatRate(w.base.reqPerSec), formatRatio(w.mine.reqPerSec, w.base.reqPerSec, w.ratio));
  report.note(`ctmd --store etcd Set ÷ etcd Put (${where}) per round: ${w.ratios.map((r) => r.toFixed(2)).join(", ")}; ctmd's Set handler time (its log's durationMs) p50 ${formatMs(tally.p50Ms)}, p99 ${formatMs(tally.p99Ms)}; ${perTransaction.toFixed(1)} Sets per etcd commit transaction (ctm_store_records_total ÷ ctm_store_batches_total over the rounds, warm-up included: a replica has one commit transaction in flight at a time).`);
}
