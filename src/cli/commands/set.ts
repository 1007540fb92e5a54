import { Command, Option } from "commander";
import { SetResponse } from "../../gen/ctm/v1/config_service.js";
import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";
import type { JsonValue } from "@ctm/core/json";
import { run, type CliContext } from "../cli-context.js";
import { USAGE_EXIT } from "../exit-codes.js";
import { describePlan } from "../format/describe-plan.js";
import { pastStartError } from "../format/past-start-error.js";
import type { PlanSchedule } from "../format/plan-schedule.js";
import { printWritten } from "../format/print-entry.js";
import { parseJsonValue } from "../parse/parse-json-value.js";
import { addRolloutOptions, planFromFlags, type RolloutFlags } from "../parse/rollout-flags.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";

type SetFlags = WriteFlags & RolloutFlags & { string?: boolean; dryRun?: boolean };

/** The key's current value, which a plan without --stable keeps serving (undefined when the key has none). */
async function currentValue(ctx: CliContext, key: string): Promise<JsonValue | undefined> {
  const r = await ctx.api.get({ key }).catch(() => undefined);
  const e = r?.entry;
  if (!e || e.deleted) return undefined;
  return (e.rollout?.plan?.stable ?? e.value) as JsonValue | undefined;
}

// Loaded when a rollout is given: the plan's checks bring the regex engine, which a plain set never needs.
const schedules = () => import("../format/plan-schedule.js");

async function scheduleOf(ctx: CliContext, key: string, value: JsonValue, plan: RolloutPlan): Promise<PlanSchedule> {
  const stable = plan.stable === undefined ? await currentValue(ctx, key) : undefined;
  return (await schedules()).planSchedule(plan, key, value, stable, Date.now());
}

async function printSchedule(ctx: CliContext, s: PlanSchedule): Promise<void> {
  const { dueSummary, renderSchedule } = await schedules();
  ctx.print(dueSummary(s));
  if (s.milestones.length > 0) ctx.print(renderSchedule(s.milestones, ctx.c));
}

const scheduleJson = (s: PlanSchedule) => ({
  startsAt: s.startsAt.toISOString(),
  percentNow: s.percentNow,
  needsAllowPastStart: s.needsAllowPastStart,
  milestones: s.milestones.map((m) => ({ ...m, dueTime: m.dueTime.toISOString() })),
});

export function setCommand(): Command {
  const cmd = new Command("set")
    .description("write a new version of a key, at once or as a gradual rollout")
    .argument("<key>")
    .argument("<value>", "a JSON value (20, true, '\"text\"', '{\"a\":1}'); a plain string with --string")
    .addOption(new Option("-s, --string", "take <value> (and --stable, variant values) as plain strings, not JSON"))
    .addOption(new Option("--dry-run", "with a rollout: show its milestones and which are already due; write nothing"));
  addWriteOptions(cmd);
  return addRolloutOptions(cmd).addHelpText(
    "after",
    `
Examples:
  ctm set db.pool_size 20 -m "more connections"
  ctm set greeting --string hello --expect-version 3
  ctm set offset -- -5                      (a negative number: after --)
  ctm set checkout.v2 true --stable false --steps 10,10,5m,100 --early-adopters alice,bob
  ctm set search.ranker v2 --string --stable v1 --ramp 0,100,72h --rings dev,staging,prod:24h --activate-at "in 1h" --dry-run
  ctm set layout '"grid"' --variant grid=50:'"grid"' --variant cards=50:'"cards"' --stable '"list"'
  ctm set checkout.v2 true --plan plan.json

A rollout whose --activate-at (or ramp start) is more than a minute in the past is refused:
every milestone due since then would be written at once. --dry-run shows them;
--allow-past-start writes it anyway.`,
  ).action(
    run<SetFlags>(async (ctx, [key, text], o, command) => {
      const value = parseJsonValue(text!, "value", o.string) as JsonValue;
      const rollout = await planFromFlags(o, o.string === true);
      if (!rollout && (o.dryRun || o.allowPastStart)) {
        command.error(`error: ${o.dryRun ? "--dry-run" : "--allow-past-start"} applies to a rollout: give --steps, --ramp, --rings, --activate-at or --plan`, { exitCode: USAGE_EXIT });
      }
      if (o.dryRun) {
        const s = await scheduleOf(ctx, key!, value, rollout!);
        return ctx.json ? ctx.printJson(scheduleJson(s)) : printSchedule(ctx, s);
      }
      const r = await ctx.api.set({ key: key!, value, author: ctx.author, ...writeFields(o), rollout }).catch(async (e: unknown) => {
        // Refused for a start in the past: show what would have fired, computed without writing.
        const s = rollout && (await scheduleOf(ctx, key!, value, rollout).catch(() => undefined));
        throw pastStartError(e, s && !ctx.json ? (await schedules()).renderSchedule(s.milestones, ctx.ce) : "") ?? e;
      });
      if (ctx.json) return ctx.printJson(SetResponse.toJSON(r));
      printWritten(ctx, "set", r.entry!);
      const plan = r.entry!.rollout?.plan;
      if (plan) ctx.print(`  rolling out: ${ctx.c.yellow(describePlan(plan))}`);
      if (rollout?.allowPastStart) {
        const s = await scheduleOf(ctx, key!, value, rollout);
        const due = s.milestones.filter((m) => m.dueNow);
        if (due.length > 0) ctx.print(`  already due, written at the scheduler's next tick:\n${(await schedules()).renderSchedule(due, ctx.c)}`);
      }
    }),
  );
}
