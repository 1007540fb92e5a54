import type { ChangeRequest } from "../../gen/ctm/v1/change_request_service.js";
import type { CliContext } from "../cli-context.js";
import { summaryFields } from "./change-request-fields.js";
import { renderFields } from "./render-table.js";

/** The answer to a write on a request: "✓ approved change request 1a2b3c4d5e6f", then where it stands. */
export function printChangeRequest(ctx: CliContext, verb: string, cr: ChangeRequest): void {
  ctx.print(`${ctx.c.green("✓")} ${verb} change request ${ctx.c.bold(cr.id)}`);
  ctx.print(renderFields(summaryFields(cr, ctx.c), ctx.c));
}
