import { invalidArgument } from "../cli-error.js";

/** A JSON value from the command line; with `asString` the text itself is the (string) value. */
export function parseJsonValue(text: string, field: string, asString = false): unknown {
  if (asString) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument(field, `${JSON.stringify(text)} is not JSON (quote strings as '"text"', or pass --string)`);
  }
}
