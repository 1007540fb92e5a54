import type { ServiceError } from "@grpc/grpc-js";
import { Command, Option } from "commander";
import { ApplyResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { parseConfigDoc } from "../config-doc/config-doc.js";
import { importPlan, type ImportPlan } from "../config-doc/import-plan.js";
import { pastStartError } from "../format/past-start-error.js";
import { Progress } from "../format/progress.js";
import { readJsonFile } from "../read-json-file.js";

/** "operations[3].set.key: ..." names the key it is about (and keeps a violations table, when `explained` has one). */
function nameKey(e: unknown, ops: ImportPlan["operations"], explained: unknown): unknown {
  const d = e as Partial<ServiceError>;
  const m = /^operations\[(\d+)\]/.exec(d.details ?? "");
  const op = m && ops[Number(m[1])]?.operation;
  if (!op || d.code === undefined) return explained;
  const key = ` (key ${JSON.stringify(op.value.key)})`;
  return explained instanceof CliError ? new CliError(explained.code, explained.message + key, explained.detail) : new CliError(d.code, `${d.details}${key}`);
}

export function importCommand(): Command {
  return new Command("import")
    .description("write a whole config from a JSON file (- for stdin) in one atomic batch")
    .argument("<file>", '{"keys": {"a": 1, ...}, "features": {slowroll}, "rollouts": {key: {value, rollout}}}')
    .addOption(new Option("-m, --message <text>", "recorded on every record written"))
    .addOption(new Option("--allow-past-start", "accept rollouts that started in the past (a live slowroll, an exported rollout): they resume where their plan stands now"))
    .addHelpText(
      "after",
      `
Everything is written with one ConfigService.Apply: all or nothing, consecutive revisions.
Slowroll "features" ({"stable", "new", "early_adopters", "end_time", "duration"}) become
0 -> 100% ramp rollouts, and "rollouts" carry a whole RolloutPlan. If the daemon refuses
any key, value or plan, nothing is written and the error names the key. A rollout that
started more than a minute ago is refused unless --allow-past-start: it would resume
mid-way, and the milestones already due would be written at once.`,
    )
    .action(
      run<{ message?: string; allowPastStart?: boolean }>(async (ctx, [file], o) => {
        const plan = importPlan(parseConfigDoc(await readJsonFile(file!)), o.allowPastStart);
        if (plan.operations.length === 0) return ctx.json ? ctx.printJson({}) : ctx.print("nothing to import");
        const progress = new Progress();
        let applied: ApplyResponse;
        try {
          progress.update(`importing ${plan.operations.length} keys (${plan.rollouts} rolling out) in one batch…`);
          applied = await ctx.api
            .apply({ operations: plan.operations, author: ctx.author, message: o.message ?? "" })
            .catch(async (e: unknown) => Promise.reject(nameKey(e, plan.operations, pastStartError(e, "", false) ?? (await ctx.explainViolations(e)))));
        } finally {
          progress.done();
        }
        if (ctx.json) return ctx.printJson({ apply: ApplyResponse.toJSON(applied) });
        const revs = applied.entries.map((e) => e.revision);
        ctx.print(
          `${ctx.c.green("✓")} imported ${plan.operations.length - plan.rollouts} keys and ${plan.rollouts} rollouts at revisions ${Math.min(...revs)}..${Math.max(...revs)}`,
        );
      }),
    );
}
