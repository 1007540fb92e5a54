import { Command, Option } from "commander";
import { CreateChangeRequestResponse } from "../../gen/ctm/v1/change_request_service.js";
import { run } from "../cli-context.js";
import { invalidArgument } from "../cli-error.js";
import { printChangeRequest } from "../format/print-change-request.js";
import { changeFile } from "../parse/change-file.js";
import { parseCount } from "../parse/parse-numbers.js";

interface CreateFlags {
  file: string;
  title?: string;
  description?: string;
  base?: number;
  draft?: boolean;
}

export function crCreateCommand(): Command {
  return new Command("create")
    .description("propose sets (with rollout plans) and deletes for review, from the file `ctm apply` reads")
    .addOption(new Option("-f, --file <file>", 'the operations (- for stdin): {"operations": [{"set": {"key": "a", "value": 1}}, {"delete": {"key": "b"}}]}').makeOptionMandatory())
    .addOption(new Option("-t, --title <text>", "what it changes, in a line (default: the file's \"message\")"))
    .addOption(new Option("-d, --description <text>", "why, for the reviewers"))
    .addOption(new Option("--base <revision>", "the revision the operations were written against (default: the head now)").argParser(parseCount))
    .addOption(new Option("--draft", "start as a draft only its author edits; ctm cr submit puts it in review"))
    .action(
      run<CreateFlags>(async (ctx, _args, o) => {
        const { operations, message } = await changeFile(o.file);
        const title = o.title ?? message ?? "";
        if (title.trim() === "") throw invalidArgument("title", 'is required: -t, or a "message" in the file');
        const r = await ctx.api.createChangeRequest({ title, description: o.description ?? "", operations, baseRevision: o.base ?? 0, author: ctx.author, draft: o.draft === true });
        if (ctx.json) return ctx.printJson(CreateChangeRequestResponse.toJSON(r));
        printChangeRequest(ctx, o.draft ? "drafted" : "proposed", r.changeRequest!);
      }),
    );
}
