import { Command, Option } from "commander";
import { ListKeysResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { compactJson, formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { who } from "../format/who.js";
import { parseCount } from "../parse/parse-numbers.js";

export function keysCommand(): Command {
  return new Command("keys")
    .description("the live keys under a prefix, in key order: value, version, last change, whether it rolls out, how often it is read")
    .argument("[prefix]", "only keys under it", "")
    .addOption(new Option("--limit <n>", "keys per page (default 100, at most 1000)").argParser(parseCount))
    .addOption(new Option("--page-token <token>", "continue a listing"))
    .action(
      run<{ limit?: number; pageToken?: string }>(async (ctx, [prefix], o) => {
        const r = await ctx.api.listKeys({ prefix: prefix ?? "", pageSize: o.limit ?? 0, pageToken: o.pageToken ?? "" });
        if (ctx.json) return ctx.printJson(ListKeysResponse.toJSON(r));
        if (r.keys.length === 0 && !r.nextPageToken) return ctx.print(ctx.c.dim(`no keys under "${prefix}"`));
        const rows = r.keys.map(({ entry: e, rolling, reads, lastRead }) => [
          ctx.c.bold(e!.key),
          e!.version,
          formatTime(e!.time),
          who(e!),
          rolling ? ctx.c.yellow("rolling out") : "",
          reads,
          lastRead ? formatTime(lastRead) : "never",
          compactJson(e!.value, 30),
        ]);
        ctx.print(renderTable(["key", "version", "last change", "by", "rollout", "reads", "last read", "value"], rows, ctx.c));
        if (r.nextPageToken) ctx.print(ctx.c.dim(`more: ctm keys ${prefix ? `${prefix} ` : ""}--page-token ${r.nextPageToken}`));
      }),
    );
}
