import { Command, Option } from "commander";
import { HistoryResponse } from "../../gen/ctm/v1/config_service.js";
import type { Entry } from "../../gen/ctm/v1/record.js";
import { run } from "../cli-context.js";
import { compactJson, formatTime, kindLabel } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { parsePositive } from "../parse/parse-numbers.js";
import { who } from "../format/who.js";

export function historyCommand(): Command {
  return new Command("history")
    .description("a key's records, newest first")
    .argument("<key>")
    .addOption(new Option("-n, --limit <n>", "at most this many records (pages are followed)").argParser(parsePositive).default(100))
    .action(
      run<{ limit: number }>(async (ctx, [key], o) => {
        const entries: Entry[] = [];
        let r: HistoryResponse | undefined;
        do {
          r = await ctx.api.history({ key: key!, limit: Math.min(1000, o.limit - entries.length), pageToken: r?.nextPageToken ?? "" });
          entries.push(...r.entries);
        } while (r.nextPageToken && entries.length < o.limit);
        if (ctx.json) return ctx.printJson(HistoryResponse.toJSON({ ...r, entries }));
        const rows = entries.map((e) => [
          e.version,
          e.revision,
          formatTime(e.time),
          who(e),
          kindLabel(e) + (e.breakGlass ? ctx.c.red(" (break glass)") : ""),
          e.message,
          e.deleted ? "(deleted)" : e.valueCompacted ? ctx.c.dim("(value compacted)") : compactJson(e.value, 30),
        ]);
        ctx.print(renderTable(["version", "revision", "time", "author", "kind", "message", "value"], rows, ctx.c));
        if (r.nextPageToken) ctx.note(ctx.ce.dim(`(more: ctm history ${key} --limit ${o.limit * 2})`));
        if (r.compactedBelowVersion > 0) ctx.print(ctx.c.dim(`versions before ${r.compactedBelowVersion} were compacted away (ctm archive keeps them)`));
      }),
    );
}
