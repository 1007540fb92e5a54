import { ApplyOperation } from "../../gen/ctm/v1/config_service.js";
import { invalidArgument } from "../cli-error.js";

/** What an operations file holds: its operations, and the "message" it may carry. */
export interface ApplyFile {
  ops: ApplyOperation[];
  message?: string;
}

/** The operations of an apply file: {"operations": [...]} or a bare list; each {"set": {...}} or {"delete": {...}}. */
export function applyFile(json: unknown): ApplyFile {
  const doc = Array.isArray(json) ? { operations: json } : (json as { operations?: unknown; message?: unknown });
  if (typeof doc !== "object" || doc === null || !Array.isArray(doc.operations)) throw invalidArgument("operations", 'expected {"operations": [...]} or a list');
  const ops = doc.operations.map((o: unknown, i) => {
    const op = ApplyOperation.fromJSON(o);
    if (!op.operation) throw invalidArgument(`operations[${i}]`, 'needs "set": {"key", "value"} or "delete": {"key"}');
    return op;
  });
  return { ops, message: typeof doc.message === "string" ? doc.message : undefined };
}
