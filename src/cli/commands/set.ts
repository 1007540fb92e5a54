import { Command, Option } from "commander";
import { SetResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { describePlan } from "../format/describe-plan.js";
import { printWritten } from "../format/print-entry.js";
import { parseJsonValue } from "../parse/parse-json-value.js";
import { addRolloutOptions, planFromFlags, type RolloutFlags } from "../parse/rollout-flags.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";

export function setCommand(): Command {
  const cmd = new Command("set")
    .description("write a new version of a key, at once or as a gradual rollout")
    .argument("<key>")
    .argument("<value>", "a JSON value (20, true, '\"text\"', '{\"a\":1}'); a plain string with --string")
    .addOption(new Option("-s, --string", "take <value> (and --stable, variant values) as plain strings, not JSON"));
  addWriteOptions(cmd);
  return addRolloutOptions(cmd).addHelpText(
    "after",
    `
Examples:
  ctm set db.pool_size 20 -m "more connections"
  ctm set greeting --string hello --expect-version 3
  ctm set offset -- -5                      (a negative number: after --)
  ctm set checkout.v2 true --stable false --steps 10,10,5m,100 --early-adopters alice,bob
  ctm set search.ranker v2 --string --stable v1 --ramp 0,100,72h --rings dev,staging,prod:24h
  ctm set layout '"grid"' --variant grid=50:'"grid"' --variant cards=50:'"cards"' --stable '"list"'
  ctm set checkout.v2 true --plan plan.json`,
  ).action(
    run<WriteFlags & RolloutFlags & { string?: boolean }>(async (ctx, [key, text], o) => {
      const value = parseJsonValue(text!, "value", o.string);
      const rollout = await planFromFlags(o, o.string === true);
      const r = await ctx.api.set({ key: key!, value, author: ctx.author, ...writeFields(o), rollout });
      if (ctx.json) return ctx.printJson(SetResponse.toJSON(r));
      printWritten(ctx, "set", r.entry!);
      const plan = r.entry!.rollout?.plan;
      if (plan) ctx.print(`  rolling out: ${ctx.c.yellow(describePlan(plan))}`);
    }),
  );
}
