import { Command } from "commander";
import { validatorDeleteCommand } from "./validator-delete.js";
import { validatorListCommand } from "./validator-list.js";
import { validatorSetCommand } from "./validator-set.js";

/** `ctm validator set|list|delete`: the ValidatorService's definitions. */
export function validatorCommand(): Command {
  const cmd = new Command("validator").description("rules that keep bad values out: set, list, delete");
  for (const sub of [validatorSetCommand(), validatorListCommand(), validatorDeleteCommand()]) cmd.addCommand(sub);
  return cmd;
}
