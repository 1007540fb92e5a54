import { Command, Option } from "commander";
import { ExplainResponse } from "../../gen/ctm/v1/rollout_service.js";
import { run } from "../cli-context.js";
import { percent, prettyJson, reasonName } from "../format/format-values.js";
import { renderFields } from "../format/render-table.js";
import { addContextOptions, contextFromFlags, type ContextFlags } from "../parse/parse-context.js";
import { parseTime } from "../parse/parse-time.js";

export function rolloutExplainCommand(): Command {
  const cmd = new Command("explain")
    .description("trace the decision for one unit, step by step")
    .argument("<key>")
    .addOption(new Option("--at <time>", "as of this time (default: now)").argParser((t) => parseTime(t)));
  return addContextOptions(cmd).action(
    run<ContextFlags & { at?: Date }>(async (ctx, [key], o) => {
      const r = await ctx.api.explain({ key: key!, context: contextFromFlags(o), time: o.at });
      if (ctx.json) return ctx.printJson(ExplainResponse.toJSON(r));
      const c = ctx.c;
      ctx.print(
        renderFields(
          [
            ["value", c.green(prettyJson(r.value))],
            ["variant", r.variant],
            ["reason", reasonName(r.reason)],
            ["bucket", `${r.bucket} / 100000 (variant bucket ${r.variantBucket})`],
            ["percentage", percent(r.percentage)],
            ["ring", r.ring || undefined],
          ],
          c,
        ),
      );
      ctx.print(c.bold("trace"));
      r.trace.forEach((t, i) => ctx.print(`  ${i + 1}. ${t}`));
    }),
  );
}
