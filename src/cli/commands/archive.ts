import { status } from "@grpc/grpc-js";
import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Command, Option } from "commander";
import { DEFAULT_DATA_DIR } from "../../config.js";
import type { LogRecord } from "@ctm/core/record";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { compactJson, formatTime } from "../format/format-values.js";
import { renderFields, renderTable } from "../format/render-table.js";
import { parseTime } from "../parse/parse-time.js";

// The archive reader (and its CBOR decoder) loads with these commands, not with every `ctm` command.
const archiveFiles = () => import("../../storage/level/archive-file.js");

/** A record as the archive keeps it, with when it stopped being live. */
interface Archived {
  record: LogRecord;
  what: "remove" | "strip";
  until: { revision: number; time: number };
}

/** Every record the archives hold, once each: a record archived with its value, then again as an audit record, keeps its value. */
async function readAll(files: string[]): Promise<Archived[]> {
  const [{ readArchive }, { decodeLogValue }] = await Promise.all([archiveFiles(), import("../../storage/level/record-bytes.js")]);
  const byRevision = new Map<number, Archived>();
  for (const file of files) {
    let archive;
    try {
      archive = await readArchive(file);
    } catch (e) {
      throw new CliError(status.DATA_LOSS, (e as Error).message);
    }
    for await (const [what, bytes, revision, time] of archive.entries) {
      const record = decodeLogValue(bytes).record;
      const seen = byRevision.get(record.revision);
      if (seen !== undefined && (!seen.record.valueCompacted || record.valueCompacted)) continue;
      byRevision.set(record.revision, { record, what, until: { revision, time } });
    }
  }
  return [...byRevision.values()];
}

/** `ctm archive ls|at`: compaction's archives, read offline (no ctmd needed). */
export function archiveCommand(): Command {
  const cmd = new Command("archive").description("what compaction removed, read offline from its archive files: ls, at");
  cmd.addCommand(
    new Command("ls")
      .description("the archives in a directory, each checked against its checksum")
      .argument("[dir]", "the archive directory", join(DEFAULT_DATA_DIR, "archive"))
      .action(
        run(async (ctx, [dir]) => {
          const { listArchives, readArchive } = await archiveFiles();
          const rows: { file: string; bytes: number; ok: boolean; records?: number; horizon?: number; previousHorizon?: number; created?: number; problem?: string }[] = [];
          for (const file of listArchives(dir!)) {
            const bytes = statSync(file).size;
            try {
              const a = await readArchive(file);
              let records = 0;
              for await (const _ of a.entries) records++;
              const t = a.trailer();
              rows.push({ file, bytes, ok: true, records, horizon: t.horizon, previousHorizon: a.header.previousHorizon, created: a.header.created });
            } catch (e) {
              rows.push({ file, bytes, ok: false, problem: (e as Error).message });
            }
          }
          if (ctx.json) return ctx.printJson(rows);
          if (rows.length === 0) return ctx.print(ctx.c.dim(`no archives in ${dir}`));
          ctx.print(
            renderTable(
              ["archive", "revisions", "records", "bytes", "created", "checksum"],
              rows.map((r) => [basename(r.file), r.ok ? `${r.previousHorizon}..${r.horizon! - 1}` : "-", r.records ?? "-", r.bytes, r.created ? formatTime(new Date(r.created)) : "-", r.ok ? ctx.c.green("ok") : ctx.c.red(r.problem!)]),
              ctx.c,
            ),
          );
          if (rows.some((r) => !r.ok)) throw new CliError(status.DATA_LOSS, "an archive failed its checksum");
        }),
      ),
  );
  cmd.addCommand(
    new Command("at")
      .description("time travel in archives: what was live at a time, among the records that left the store (ctm archive at FILE... --time 2025-03-01T03:47Z [KEY])")
      .argument("<file...>", "archive files (ctm archive ls lists them), then optionally the key (an argument that is no file)")
      .addOption(new Option("--time <time>", 'an RFC 3339 time, "now" or "15m ago"').makeOptionMandatory())
      .addOption(new Option("--key <key>", "only this key (or give it after the files)"))
      .action(
        run<{ time: string; key?: string }>(async (ctx, [files], o, self) => {
          let at: number;
          try {
            at = parseTime(o.time).getTime();
          } catch (e) {
            return self.error(`error: option '--time' is invalid. ${(e as Error).message}`, { exitCode: 2 });
          }
          const paths = Array.isArray(files) ? [...files] : [files!];
          // `ctm archive at FILE... --time T KEY`: a last argument that is no file is the key.
          if (o.key === undefined && paths.length > 1 && !existsSync(paths[paths.length - 1]!)) o.key = paths.pop();
          // Live at `at`: written at or before it, and its key's next version written after it.
          const live = (await readAll(paths)).filter((a) => a.record.time <= at && a.until.time > at && (o.key === undefined || a.record.key === o.key));
          live.sort((a, b) => (a.record.key < b.record.key ? -1 : a.record.key > b.record.key ? 1 : 0));
          if (ctx.json) return ctx.printJson(live.map((a) => ({ ...a.record, until: a.until })));
          if (live.length === 0) {
            const what = o.key === undefined ? "no archived record" : `no archived record of ${o.key}`;
            throw new CliError(status.NOT_FOUND, `${what} was live at ${formatTime(new Date(at))}; records that never left the store are read with ctm at`);
          }
          if (o.key !== undefined) {
            const r = live[0]!.record;
            return ctx.print(
              renderFields(
                [
                  ["key", r.key],
                  ["value", r.deleted ? ctx.c.dim("(deleted)") : JSON.stringify(r.value, null, 2)],
                  ["version", String(r.version)],
                  ["revision", String(r.revision)],
                  ["written", `${formatTime(new Date(r.time))} by ${r.author}${r.message ? `: ${r.message}` : ""}`],
                  ["live until", `${formatTime(new Date(live[0]!.until.time))} (revision ${live[0]!.until.revision})`],
                ],
                ctx.c,
              ),
            );
          }
          ctx.print(renderTable(["key", "version", "value", "written", "author"], live.map((a) => [a.record.key, a.record.version, a.record.deleted ? "(deleted)" : compactJson(a.record.value, 60), formatTime(new Date(a.record.time)), a.record.author]), ctx.c));
        }),
      ),
  );
  return cmd;
}
