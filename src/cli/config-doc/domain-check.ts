import { status } from "@grpc/grpc-js";
import { isCtmError } from "../../domain/errors.js";
import { CliError } from "../cli-error.js";

/** Runs one of the daemon's pure checks client-side; its error becomes INVALID_ARGUMENT with the same message. */
export function domainCheck<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (isCtmError(e)) throw new CliError(status.INVALID_ARGUMENT, e.message);
    throw e;
  }
}
