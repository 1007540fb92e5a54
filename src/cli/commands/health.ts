import { Command } from "commander";
import { healthDeleteCommand } from "./health-delete.js";
import { healthListCommand } from "./health-list.js";
import { healthReportCommand } from "./health-report.js";
import { healthSetCommand } from "./health-set.js";

/** `ctm health set|list|delete|report`: the HealthCheckService. */
export function healthCommand(): Command {
  const cmd = new Command("health").description("health checks that roll back (or pause) a rollout that hurts: set, list, delete, report");
  for (const sub of [healthSetCommand(), healthListCommand(), healthDeleteCommand(), healthReportCommand()]) cmd.addCommand(sub);
  return cmd;
}
