import { Command, Option } from "commander";
import { RollbackResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { printWritten } from "../format/print-entry.js";
import { parsePositive } from "../parse/parse-numbers.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";

export function rollbackCommand(): Command {
  const cmd = new Command("rollback")
    .description("restore an earlier version of a key (the previous one by default) as a new version")
    .argument("<key>")
    .addOption(new Option("--to-version <n>", "the version to restore").argParser(parsePositive));
  return addWriteOptions(cmd).action(
    run<WriteFlags & { toVersion?: number }>(async (ctx, [key], o) => {
      const r = await ctx.api.rollback({ key: key!, toVersion: o.toVersion, author: ctx.author, ...writeFields(o) });
      if (ctx.json) return ctx.printJson(RollbackResponse.toJSON(r));
      printWritten(ctx, `rolled back to v${r.entry!.rolledBackTo}:`, r.entry!);
    }),
  );
}
