import { Command, Option } from "commander";
import { EditChangeRequestResponse } from "../../gen/ctm/v1/change_request_service.js";
import { run } from "../cli-context.js";
import { printChangeRequest } from "../format/print-change-request.js";
import { changeFile } from "../parse/change-file.js";
import { parseCount } from "../parse/parse-numbers.js";

interface EditFlags {
  file?: string;
  title?: string;
  description?: string;
  base?: number;
}

export function crEditCommand(): Command {
  return new Command("edit")
    .description("the author changes a request, or rebases it after a conflict: the approvals start over")
    .argument("<id>")
    .addOption(new Option("-f, --file <file>", "new operations, as for create (default: unchanged)"))
    .addOption(new Option("-t, --title <text>", "a new title (default: unchanged)"))
    .addOption(new Option("-d, --description <text>", "a new description (default: unchanged)"))
    .addOption(new Option("--base <revision>", "the revision the operations are written against now (default: the head now)").argParser(parseCount))
    .action(
      run<EditFlags>(async (ctx, [id], o) => {
        const operations = o.file === undefined ? [] : (await changeFile(o.file)).operations;
        const r = await ctx.api.editChangeRequest({ id, title: o.title ?? "", description: o.description ?? "", operations, baseRevision: o.base ?? 0, author: ctx.author });
        if (ctx.json) return ctx.printJson(EditChangeRequestResponse.toJSON(r));
        printChangeRequest(ctx, "edited", r.changeRequest!);
      }),
    );
}
