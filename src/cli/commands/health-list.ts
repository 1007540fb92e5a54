import { Command, Option } from "commander";
import { ListHealthChecksResponse } from "../../gen/ctm/v1/health_check_service.js";
import { run } from "../cli-context.js";
import { actionName, describeSource, describeThreshold, rate, verdictText } from "../format/describe-check.js";
import { renderTable } from "../format/render-table.js";
import { formatDuration } from "../parse/parse-duration.js";

export function healthListCommand(): Command {
  return new Command("list")
    .description("the health checks (or those that apply to a key) and their latest verdict per key")
    .addOption(new Option("--key <key>", "only checks whose globs match this key, and verdicts on it"))
    .action(
      run<{ key?: string }>(async (ctx, _args, o) => {
        const r = await ctx.api.listHealthChecks({ key: o.key ?? "" });
        if (ctx.json) return ctx.printJson(ListHealthChecksResponse.toJSON(r));
        const c = ctx.c;
        if (r.checks.length === 0) return ctx.print(c.dim(o.key ? `no health check applies to ${o.key}` : "no health checks"));
        const checks = [...r.checks].sort((a, b) => a.name.localeCompare(b.name));
        const rows = checks.map((h) => [
          c.bold(h.name),
          h.keys.join("\n"),
          describeSource(h, 40),
          describeThreshold(h),
          formatDuration(h.window),
          h.minSamples,
          h.failuresToAct,
          actionName(h.action),
          h.bakeTime && h.bakeTime.seconds + h.bakeTime.nanos > 0 ? formatDuration(h.bakeTime) : "-",
        ]);
        ctx.print(renderTable(["name", "keys", "source", "fails when", "window", "min samples", "failures to act", "action", "bake"], rows, c));
        if (r.states.length === 0) return ctx.print(c.dim("no verdicts yet: checks are judged while a matching key rolls out or bakes"));
        const states = [...r.states].sort((a, b) => a.check.localeCompare(b.check) || a.key.localeCompare(b.key));
        const verdicts = states.map((s) => [
          s.check,
          s.key,
          verdictText(s.verdict, c),
          rate(s.canaryErrorRate),
          s.stableSamples > 0 ? rate(s.stableErrorRate) : "-",
          `${s.canarySamples} / ${s.stableSamples}`, // canary / stable, like the two rates before it
          s.consecutiveFailures,
          s.detail,
        ]);
        ctx.print(renderTable(["check", "key", "verdict", "canary rate", "stable rate", "samples", "consecutive failures", "detail"], verdicts, c));
      }),
    );
}
