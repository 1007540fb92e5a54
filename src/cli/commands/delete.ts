import { Command } from "commander";
import { DeleteResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { printWritten } from "../format/print-entry.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";

export function deleteCommand(): Command {
  const cmd = new Command("delete")
    .description("delete a key (a tombstone: history keeps every version)")
    .argument("<key>")
    .option("--force", "delete it even if it was read recently (ctmd's --delete-guard-ms)");
  return addWriteOptions(cmd).action(
    run<WriteFlags & { force?: boolean }>(async (ctx, [key], o) => {
      const r = await ctx.api.delete({ key: key!, author: ctx.author, ...writeFields(o), force: o.force === true });
      if (ctx.json) return ctx.printJson(DeleteResponse.toJSON(r));
      printWritten(ctx, "deleted", r.entry!);
    }),
  );
}
