import { ApplyOperation } from "../../gen/ctm/v1/config_service.js";
import { invalidArgument } from "../cli-error.js";
import { planFromJson } from "./plan-json.js";

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
    // A plan's durations as proto JSON writes them ("300s"), which fromJSON alone reads as none.
    const plan = (o as { set?: { rollout?: unknown } }).set?.rollout;
    if (op.operation.$case === "set" && plan !== undefined && plan !== null) op.operation.value.rollout = planFromJson(plan, `operations[${i}].set.rollout`);
    return op;
  });
  return { ops, message: typeof doc.message === "string" ? doc.message : undefined };
}
