import { status } from "@grpc/grpc-js";
import { CliError } from "../cli-error.js";
import { isServiceError } from "../exit-codes.js";

/** The fields the daemon names when it refuses a rollout that starts in the past (also inside Apply operations). */
const PAST_START_FIELD = /(^|\.)rollout\.(activate_at|ramp\.start_time|ramp\.end_time)$/;

/** Whether `e` is the daemon refusing a plan because its start lies in the past. */
export function isPastStartRefusal(e: unknown): boolean {
  if (!isServiceError(e) || e.code !== status.INVALID_ARGUMENT) return false;
  const field = e.metadata?.get("ctm-field")[0];
  return typeof field === "string" && PAST_START_FIELD.test(field) && /in the past/.test(e.details);
}

/**
 * The refusal with what to do next under the one error line: `detail` (e.g. the
 * schedule that would run) and the flag that accepts it.
 */
export function pastStartError(e: unknown, detail: string, dryRun = true): CliError | undefined {
  if (!isPastStartRefusal(e) || !isServiceError(e)) return undefined;
  const hint = `--allow-past-start writes it anyway (the milestones already due are written at once)${dryRun ? "; --dry-run shows the schedule" : ""}`;
  return new CliError(e.code, e.details.replace(/; choose a later time, or set allow_past_start to accept that$/, "; choose a later time"), detail ? `${detail}\n${hint}` : hint);
}
