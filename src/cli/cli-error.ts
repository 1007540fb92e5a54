import { status } from "@grpc/grpc-js";

/**
 * An error found by the CLI itself, carrying the gRPC status it stands for (and exits with).
 * `detail` (e.g. a table of violations) is printed on stderr after the one error line.
 */
export class CliError extends Error {
  constructor(
    readonly code: status,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** INVALID_ARGUMENT naming the field first, like the daemon's own messages. */
export const invalidArgument = (field: string, reason: string): CliError => new CliError(status.INVALID_ARGUMENT, `${field}: ${reason}`);
