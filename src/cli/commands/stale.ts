import { Command, Option } from "commander";
import { ListStaleKeysResponse } from "../../gen/ctm/v1/admin_service.js";
import { run } from "../cli-context.js";
import { formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { parseDurationMs, toPbDuration } from "../parse/parse-duration.js";
import { parseCount } from "../parse/parse-numbers.js";

export function staleCommand(): Command {
  return new Command("stale")
    .description("keys that may be pruned: nobody read or changed them for --unread-for, or their rollout could become a plain value")
    .argument("[prefix]", "only keys under it", "")
    .addOption(new Option("--unread-for <duration>", "how long unread and unchanged (30d, 12h)").argParser(parseDurationMs).default(30 * 86_400_000, "30d"))
    .addOption(new Option("--limit <n>", "keys per page (default 100, at most 1000)").argParser(parseCount))
    .addOption(new Option("--page-token <token>", "continue a listing"))
    .action(
      run<{ unreadFor: number; limit?: number; pageToken?: string }>(async (ctx, [prefix], o) => {
        const r = await ctx.api.listStaleKeys({ prefix: prefix ?? "", unreadFor: toPbDuration(o.unreadFor), pageSize: o.limit ?? 0, pageToken: o.pageToken ?? "" });
        if (ctx.json) return ctx.printJson(ListStaleKeysResponse.toJSON(r));
        const since = r.countingSince ? ` (reads counted since ${formatTime(r.countingSince)})` : "";
        if (r.keys.length === 0) return ctx.print(ctx.c.dim(`no stale keys${since}`));
        ctx.print(
          renderTable(
            ["key", "last read", "reads", "last change", "by", "why"],
            r.keys.map((k) => [ctx.c.bold(k.key), k.lastRead ? formatTime(k.lastRead) : "never", k.reads, formatTime(k.lastChange), k.lastAuthor, k.reason]),
            ctx.c,
          ),
        );
        ctx.print(ctx.c.dim(`reads counted since ${formatTime(r.countingSince)}`));
        if (r.nextPageToken) ctx.print(ctx.c.dim(`more: ctm stale ${prefix ? `${prefix} ` : ""}--page-token ${r.nextPageToken}`));
      }),
    );
}
