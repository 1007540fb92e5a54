import { Command, Option } from "commander";
import { ReportMetricsResponse } from "../../gen/ctm/v1/health_check_service.js";
import { run } from "../cli-context.js";
import { invalidArgument } from "../cli-error.js";
import { parseCount } from "../parse/parse-numbers.js";
import { parseTime } from "../parse/parse-time.js";

interface ReportFlags {
  variant: string;
  requests: number;
  errors: number;
  at?: Date;
}

export function healthReportCommand(): Command {
  return new Command("report")
    .description("push request and error counts for a key and variant (ReportMetrics), for pushed checks")
    .argument("<key>")
    .requiredOption("--variant <variant>", '"stable" for the stable population; "new" or a variant name is canary')
    .addOption(new Option("--requests <n>", "requests served").argParser(parseCount).makeOptionMandatory())
    .addOption(new Option("--errors <n>", "of which failed").argParser(parseCount).makeOptionMandatory())
    .addOption(new Option("--at <time>", "when the requests happened (default: now)").argParser((t) => parseTime(t)))
    .action(
      run<ReportFlags>(async (ctx, [key], o) => {
        if (o.errors > o.requests) throw invalidArgument("--errors", `${o.errors} is more than --requests ${o.requests}`);
        const r = await ctx.api.reportMetrics({ samples: [{ key: key!, variant: o.variant, requests: o.requests, errors: o.errors, time: o.at }] });
        if (ctx.json) return ctx.printJson(ReportMetricsResponse.toJSON(r));
        ctx.print(`${ctx.c.green("✓")} reported ${o.requests} requests, ${o.errors} errors for ${ctx.c.bold(key!)} (${o.variant}); accepted ${r.accepted}`);
      }),
    );
}
