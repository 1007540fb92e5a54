import { Command, Option } from "commander";
import { ApplyOperation, ApplyResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { invalidArgument } from "../cli-error.js";
import { compactJson, kindName } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { readJsonFile } from "../read-json-file.js";

/** The operations of an apply file: {"operations": [...]} or a bare list; each {"set": {...}} or {"delete": {...}}. */
function operations(json: unknown): { ops: ApplyOperation[]; message?: string } {
  const doc = Array.isArray(json) ? { operations: json } : (json as { operations?: unknown; message?: unknown });
  if (typeof doc !== "object" || doc === null || !Array.isArray(doc.operations)) throw invalidArgument("operations", 'expected {"operations": [...]} or a list');
  const ops = doc.operations.map((o: unknown, i) => {
    const op = ApplyOperation.fromJSON(o);
    if (!op.operation) throw invalidArgument(`operations[${i}]`, 'needs "set": {"key", "value"} or "delete": {"key"}');
    return op;
  });
  return { ops, message: typeof doc.message === "string" ? doc.message : undefined };
}

export function applyCommand(): Command {
  return new Command("apply")
    .description("several sets and deletes from a JSON file (- for stdin), all or nothing")
    .argument("<file>", '{"operations": [{"set": {"key": "a", "value": 1, "expected_version": 0}}, {"delete": {"key": "b"}}]}')
    .addOption(new Option("-m, --message <text>", "why (default: the file's \"message\")"))
    .action(
      run<{ message?: string }>(async (ctx, [file], o) => {
        const { ops, message } = operations(await readJsonFile(file!));
        const r = await ctx.api.apply({ operations: ops, author: ctx.author, message: o.message ?? message ?? "" });
        if (ctx.json) return ctx.printJson(ApplyResponse.toJSON(r));
        const rows = r.entries.map((e) => [e.key, kindName(e.kind), e.version, e.revision, e.deleted ? "(deleted)" : compactJson(e.value, 50)]);
        ctx.print(renderTable(["key", "kind", "version", "revision", "value"], rows, ctx.c));
        ctx.print(`${ctx.c.green("✓")} applied ${r.entries.length} operations`);
      }),
    );
}
