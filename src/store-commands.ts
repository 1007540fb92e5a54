import { Command, Option } from "commander";
import { resolve } from "node:path";
import { Progress } from "./cli/format/progress.js";
import { DEFAULT_DATA_DIR } from "./config.js";
import { repairStore, type RepairReport } from "./storage/level/repair-store.js";
import { verifyStore } from "./storage/level/verify-store.js";
import { LEVEL_STORE_DEFAULTS, LevelLogStore } from "./storage/level/level-log-store.js";
import { inspectDataDir } from "./storage/level/store-directory.js";
import { migrateToEtcd } from "./storage/etcd/migrate-to-etcd.js";
import { etcdStoreOptions } from "./storage/etcd/etcd-store-options.js";
import { systemClock } from "./domain/clock.js";
import type { VerifyReport } from "./storage/verify-report.js";

/** `ctmd verify`, `ctmd repair` and `ctmd migrate` work on a stopped store's directory instead of serving it. */
export const isStoreCommand = (argv: string[]): boolean => argv[2] === "verify" || argv[2] === "repair" || argv[2] === "migrate";

const dataDirOption = () => new Option("--data-dir <dir>", "LevelDB data directory").env("CTM_DATA_DIR").default(DEFAULT_DATA_DIR);

/** Runs the command and resolves its exit status: 0 intact or repaired, 1 damaged, 2 usage. */
export async function runStoreCommand(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command("ctmd").exitOverride().configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "ctmd: ")) });
  program
    .command("verify")
    .description("check every record's hash chain and index entries of a stopped store; writes nothing")
    .addOption(dataDirOption())
    .option("--json", "print the report as JSON")
    .action(async (o: { dataDir: string; json?: boolean }) => {
      const report = await withProgress((p) => verifyStore(resolve(o.dataDir), (n, total) => p.update(`verified ${n} of ${total} records`)));
      process.stdout.write(o.json ? JSON.stringify(report) + "\n" : describeVerify(resolve(o.dataDir), report));
      status = report.ok ? 0 : 1;
    });
  program
    .command("repair")
    .description("keep the longest intact prefix of a stopped store's log, rebuild its indexes, and report what was lost")
    .addOption(dataDirOption())
    .option("--json", "print the report as JSON")
    .action(async (o: { dataDir: string; json?: boolean }) => {
      const report = await withProgress((p) => repairStore(resolve(o.dataDir), (phase, n) => p.update(`${phase}: revision ${n}`)));
      process.stdout.write(o.json ? JSON.stringify(report) + "\n" : describeRepair(resolve(o.dataDir), report));
    });
  program
    .command("migrate")
    .description("copy a stopped embedded store's whole history into an empty prefix of an etcd cluster, for ctmd --store etcd")
    .requiredOption("--from <dir>", "the LevelDB data directory to copy (not served meanwhile)")
    .requiredOption("--etcd-endpoints <list>", "the etcd members' client addresses, host:port,host:port,...")
    .option("--etcd-prefix <prefix>", "the prefix the replicas will use (--etcd-prefix of ctmd)", "/ctm/")
    .option("--etcd-user <name>", "an etcd user")
    .option("--etcd-password-file <file>", "the file that holds --etcd-user's password")
    .option("--etcd-ca <file>", "talk TLS to etcd, checking its members against this PEM CA")
    .option("--etcd-cert <file>", "a PEM client certificate for etcd")
    .option("--etcd-key <file>", "the PEM private key of --etcd-cert")
    .option("--json", "print the report as JSON")
    .action(async (o: { from: string; etcdEndpoints: string; etcdPrefix: string; etcdUser?: string; etcdPasswordFile?: string; etcdCa?: string; etcdCert?: string; etcdKey?: string; json?: boolean }) => {
      const dir = resolve(o.from);
      // Opening a missing or empty directory would make a new, empty store there: refuse instead.
      let kind: "new" | "store";
      try {
        kind = inspectDataDir(dir);
      } catch (e) {
        process.stderr.write(`ctmd migrate: ${e instanceof Error ? e.message : String(e)}\n`);
        status = 1;
        return;
      }
      if (kind === "new") {
        process.stderr.write(`ctmd migrate: ${dir} holds no ctm store to copy\n`);
        status = 1;
        return;
      }
      const source = new LevelLogStore(dir, systemClock, LEVEL_STORE_DEFAULTS);
      await source.open();
      try {
        const opts = etcdStoreOptions({
          endpoints: o.etcdEndpoints.split(",").map((e) => e.trim()).filter(Boolean),
          prefix: o.etcdPrefix,
          leaseTtlSeconds: 10,
          ...(o.etcdUser ? { user: o.etcdUser, passwordFile: o.etcdPasswordFile } : {}),
          ...(o.etcdCa ? { ca: o.etcdCa } : {}),
          ...(o.etcdCert ? { cert: o.etcdCert, key: o.etcdKey } : {}),
        });
        const report = await withProgress((p) => migrateToEtcd(source, opts.connection, opts.prefix, (n, head) => p.update(`copied up to revision ${n} of ${head}`)));
        process.stdout.write(o.json ? JSON.stringify(report) + "\n" : `${dir}: copied revisions 1..${report.headRevision} (${report.records} records, ${report.keys} keys${report.horizon > 1 ? `, history served from revision ${report.horizon}` : ""}) to etcd under ${o.etcdPrefix} in ${report.durationMs} ms\n`);
      } catch (e) {
        process.stderr.write(`ctmd migrate: ${e instanceof Error ? e.message : String(e)}\n`);
        status = 1;
      } finally {
        await source.close();
      }
    });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith("commander.")) return (e as { exitCode: number }).exitCode === 0 ? 0 : 2;
    throw e;
  }
  return status;
}

async function withProgress<T>(run: (p: Progress) => Promise<T>): Promise<T> {
  const p = new Progress();
  try {
    return await run(p);
  } finally {
    p.done();
  }
}

function describeVerify(dir: string, r: VerifyReport): string {
  if (r.ok) return `${dir}: intact, revisions 1..${r.to} (${r.recordsChecked} records, chain tip ${r.headHash.slice(0, 16)}…) in ${r.durationMs} ms\n`;
  const at = r.firstBadRevision === undefined ? "" : ` at revision ${r.firstBadRevision}`;
  return `${dir}: DAMAGED${at}: ${r.reason}\n`;
}

function describeRepair(dir: string, r: RepairReport): string {
  const lines = [`${dir}: ${r.leveldbRepaired ? "LevelDB's manifest rebuilt from its tables; " : ""}kept revisions 1..${r.kept}`];
  if (r.lostCount === 0) lines.push("nothing was lost; indexes rebuilt");
  else {
    lines.push(`LOST ${r.lostCount} revision(s): ${r.lost.map((l) => (l.from === l.to ? `${l.from}` : `${l.from}..${l.to}`)).join(", ")} (${r.reason})`);
    for (const x of r.lostRecords) lines.push(`  lost revision ${x.revision}: ${x.key} v${x.version} by ${x.author} at ${new Date(x.time).toISOString()}`);
  }
  return lines.join("\n") + "\n";
}
