import { Command, Option } from "commander";
import { QueryAccessLogResponse, type AccessRecord } from "../../gen/ctm/v1/access_log_service.js";
import { run } from "../cli-context.js";
import { invalidArgument } from "../cli-error.js";
import { formatTime, reasonName } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { parsePositive } from "../parse/parse-numbers.js";
import { parseTime } from "../parse/parse-time.js";

interface AccessLogFlags {
  requestId?: string;
  unit?: string;
  key?: string;
  since?: Date;
  until?: Date;
  limit?: number;
  pageToken?: string;
  all?: boolean;
}

const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The command line that fetches the next page (times made absolute, so the page is the same one). */
function nextPageCommand(o: AccessLogFlags, token: string): string {
  const args = ["ctm", "access-log"];
  if (o.requestId !== undefined) args.push("--request-id", o.requestId);
  if (o.unit !== undefined) args.push("--unit", o.unit);
  if (o.key !== undefined) args.push("--key", o.key);
  if (o.since) args.push("--since", formatTime(o.since));
  if (o.until) args.push("--until", formatTime(o.until));
  if (o.limit !== undefined) args.push("--limit", String(o.limit));
  args.push("--page-token", token);
  return args.map(quote).join(" ");
}

export function accessLogCommand(): Command {
  return new Command("access-log")
    .description("which config did a request (or unit) get? the access log of Gets, newest first")
    .addOption(new Option("--request-id <id>", "records of this request id"))
    .addOption(new Option("--unit <id>", "records of this unit"))
    .addOption(new Option("--key <key>", "records of this key"))
    .addOption(new Option("--since <time>", 'from this time: RFC 3339, "now" or "15m ago"').argParser((t) => parseTime(t)))
    .addOption(new Option("--until <time>", "up to this time").argParser((t) => parseTime(t)))
    .addOption(new Option("-n, --limit <n>", "records per page (default 100, at most 1000)").argParser(parsePositive))
    .addOption(new Option("--page-token <token>", "the next page, as printed at the end of the previous one"))
    .addOption(new Option("--all", "follow every page").conflicts("pageToken"))
    .addHelpText(
      "after",
      `
Give at least one of --request-id, --unit, --key, --since or --until. Filters combine.
  ctm get checkout.v2 --unit user-42 --request-id abc-123
  ctm access-log --request-id abc-123
  ctm access-log --unit user-42 --key checkout.v2 --since "1h ago" --all`,
    )
    .action(
      run<AccessLogFlags>(async (ctx, _args, o) => {
        if (!o.requestId && !o.unit && !o.key && !o.since && !o.until) throw invalidArgument("access-log", "give --request-id, --unit, --key, --since or --until");
        const records: AccessRecord[] = [];
        let r: QueryAccessLogResponse | undefined;
        let token = o.pageToken ?? "";
        do {
          r = await ctx.api.queryAccessLog({
            requestId: o.requestId ?? "",
            unitId: o.unit ?? "",
            key: o.key ?? "",
            startTime: o.since,
            endTime: o.until,
            limit: o.limit ?? 0,
            pageToken: token,
          });
          records.push(...r.records);
          token = r.nextPageToken;
        } while (o.all && token);
        if (ctx.json) return ctx.printJson(QueryAccessLogResponse.toJSON({ ...r, records, nextPageToken: token }));
        const rows = records.map((a) => [formatTime(a.time), a.requestId || "-", a.unitId || "-", a.key, a.version, a.revision, a.variant || "-", reasonName(a.reason)]);
        ctx.print(renderTable(["time", "request id", "unit", "key", "version", "revision", "variant", "reason"], rows, ctx.c));
        ctx.print(ctx.c.dim(`${records.length} record${records.length === 1 ? "" : "s"}, newest first`));
        if (token) ctx.print(ctx.c.dim(`more: ${nextPageCommand(o, token)}   (or --all)`));
      }),
    );
}
