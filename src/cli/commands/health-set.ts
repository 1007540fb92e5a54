import { Command } from "commander";
import { SetHealthCheckResponse, type HealthCheck } from "../../gen/ctm/v1/health_check_service.js";
import { run } from "../cli-context.js";
import { describeCheck } from "../format/describe-check.js";
import { addHealthOptions, checkFromFlags, checkFromJson, healthFlagsProblem, type HealthFlags } from "../parse/health-flags.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";
import { readJsonFile } from "../read-json-file.js";

async function checkOf(name: string | undefined, o: HealthFlags, cmd: Command): Promise<HealthCheck> {
  const problem = healthFlagsProblem(o);
  if (problem) cmd.error(problem, { exitCode: 2, code: "ctm.healthFlags" });
  const check = o.file !== undefined ? checkFromJson(await readJsonFile(o.file), o.file) : checkFromFlags(name ?? "", o);
  if (name !== undefined) check.name = name;
  if (o.keys !== undefined) check.keys = o.keys;
  if (!check.name) cmd.error("error: missing required argument 'name' (or --file)", { exitCode: 2, code: "ctm.missingName" });
  if (o.file === undefined && check.keys.length === 0) cmd.error("error: required option '--keys <globs>' not specified (or --file)", { exitCode: 2, code: "ctm.missingKeys" });
  return check;
}

export function healthSetCommand(): Command {
  const cmd = new Command("set")
    .description("add or replace a health check: what to watch while matching keys roll out, and when to roll back")
    .argument("[name]", "letters, digits, . _ - (stored as _ctm/health/<name>)");
  addHealthOptions(cmd);
  addWriteOptions(cmd);
  return cmd
    .addHelpText(
      "after",
      `
Examples:
  ctm health set checkout-errors --keys 'checkout.*' --pushed --max-error-rate 0.05 --max-increase 0.02 \\
      --window 60s --min-samples 50 --failures-to-act 3 --bake 10m
  ctm health set api-probe --keys 'search.*' --http http://127.0.0.1:8080/healthz --max-latency 500ms \\
      --max-error-rate 0.2 --min-samples 5 --action pause
  ctm health set prom-5xx --keys 'payments/**' --prometheus http://127.0.0.1:9090 \\
      --query 'sum(rate(errors{flag="{{key}}"}[1m])) / sum(rate(requests{flag="{{key}}"}[1m]))' --max-error-rate 0.01
  ctm health set --file check.json`,
    )
    .action(
      run<HealthFlags & WriteFlags>(async (ctx, [name], o, command) => {
        const check = await checkOf(name, o, command);
        const r = await ctx.api.setHealthCheck({ check, author: ctx.author, ...writeFields(o) });
        if (ctx.json) return ctx.printJson(SetHealthCheckResponse.toJSON(r));
        const e = r.entry!;
        ctx.print(`${ctx.c.green("✓")} set health check ${ctx.c.bold(check.name)} v${e.version} (revision ${e.revision})`);
        // The stored definition, with the daemon's defaults filled in.
        const stored = await ctx.api.listHealthChecks({ key: "" }).then((l) => l.checks.find((c) => c.name === check.name), () => undefined);
        ctx.print(`  ${describeCheck(stored ?? check)}`);
      }),
    );
}
