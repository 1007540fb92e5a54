import { Command, Option } from "commander";
import { ApplyResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { writtenEntries } from "../format/written-entries.js";
import { applyFile } from "../parse/apply-file.js";
import { readJsonFile } from "../read-json-file.js";

export function applyCommand(): Command {
  return new Command("apply")
    .description("several sets and deletes from a JSON file (- for stdin), all or nothing")
    .argument("<file>", '{"operations": [{"set": {"key": "a", "value": 1, "expected_version": 0}}, {"delete": {"key": "b"}}]}')
    .addOption(new Option("-m, --message <text>", "why (default: the file's \"message\")"))
    .action(
      run<{ message?: string }>(async (ctx, [file], o) => {
        const { ops, message } = applyFile(await readJsonFile(file!));
        const r = await ctx.api.apply({ operations: ops, author: ctx.author, message: o.message ?? message ?? "" });
        if (ctx.json) return ctx.printJson(ApplyResponse.toJSON(r));
        ctx.print(writtenEntries(r.entries, ctx.c));
        ctx.print(`${ctx.c.green("✓")} applied ${r.entries.length} operations`);
      }),
    );
}
