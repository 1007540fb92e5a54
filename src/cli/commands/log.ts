import { Command, InvalidArgumentError, Option } from "commander";
import { ListChangesResponse } from "../../gen/ctm/v1/config_service.js";
import { RecordKind, recordKindFromJSON, type Entry } from "../../gen/ctm/v1/record.js";
import { run } from "../cli-context.js";
import { compactJson, formatTime, kindLabel } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { who } from "../format/who.js";
import { parsePositive } from "../parse/parse-numbers.js";

/** "auto_rollback" or "AUTO_ROLLBACK" -> RECORD_KIND_AUTO_ROLLBACK; repeated, so they add up. */
const kinds = (v: string, prev: RecordKind[] = []): RecordKind[] => {
  const k = recordKindFromJSON(`RECORD_KIND_${v.toUpperCase()}`);
  if (k === RecordKind.UNRECOGNIZED || k === RecordKind.RECORD_KIND_UNSPECIFIED) {
    const names = Object.keys(RecordKind).filter((n) => n.startsWith("RECORD_KIND_") && n !== "RECORD_KIND_UNSPECIFIED").map((n) => n.slice(12).toLowerCase());
    throw new InvalidArgumentError(`not a record kind; one of ${names.join(", ")}`);
  }
  return [...prev, k];
};

export function logCommand(): Command {
  return new Command("log")
    .description("the newest changes across keys, newest first (the audit view)")
    .argument("[prefix]", "only keys under it", "")
    // Not --author: that one names who writes, for every command.
    .addOption(new Option("--by <author>", "only records by this author"))
    .addOption(new Option("--kind <kind>", "only records of this kind (set, delete, rollback, auto_rollback, rollout_paused...); repeat for several").argParser(kinds))
    .addOption(new Option("-n, --limit <n>", "at most this many records (pages are followed)").argParser(parsePositive).default(50))
    .action(
      run<{ by?: string; kind?: RecordKind[]; limit: number }>(async (ctx, [prefix], o) => {
        const entries: Entry[] = [];
        let r: ListChangesResponse | undefined;
        do {
          r = await ctx.api.listChanges({ prefix: prefix ?? "", author: o.by ?? "", kinds: o.kind ?? [], limit: Math.min(500, o.limit - entries.length), pageToken: r?.nextPageToken ?? "" });
          entries.push(...r.entries);
        } while (r.nextPageToken && entries.length < o.limit);
        if (ctx.json) return ctx.printJson(ListChangesResponse.toJSON({ ...r, entries }));
        if (entries.length === 0) return ctx.print(ctx.c.dim("no matching records"));
        const rows = entries.map((e) => [
          e.revision,
          formatTime(e.time),
          ctx.c.bold(e.key),
          e.version,
          who(e),
          kindLabel(e) + (e.cause && e.cause !== "api" ? ctx.c.dim(` (${e.cause})`) : ""),
          e.message,
          e.deleted ? "(deleted)" : e.valueCompacted ? ctx.c.dim("(value compacted)") : compactJson(e.value, 30),
        ]);
        ctx.print(renderTable(["revision", "time", "key", "version", "author", "kind", "message", "value"], rows, ctx.c));
        if (r.nextPageToken) ctx.note(ctx.ce.dim(`(more: ctm log ${prefix ? `${prefix} ` : ""}--limit ${o.limit * 2})`));
      }),
    );
}
