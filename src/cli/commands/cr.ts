import { Command } from "commander";
import { crApplyCommand } from "./cr-apply.js";
import { crCreateCommand } from "./cr-create.js";
import { crEditCommand } from "./cr-edit.js";
import { crListCommand } from "./cr-list.js";
import { crReviewCommands } from "./cr-reviews.js";
import { crShowCommand } from "./cr-show.js";

/** `ctm cr create|list|show|approve|reject|cancel|submit|edit|apply`: the ChangeRequestService. */
export function crCommand(): Command {
  const cmd = new Command("cr").description("change requests, for keys a protection policy covers: create, list, show, approve, reject, cancel, submit, edit, apply");
  for (const sub of [crCreateCommand(), crListCommand(), crShowCommand(), ...crReviewCommands(), crEditCommand(), crApplyCommand()]) cmd.addCommand(sub);
  return cmd;
}
