import type { ChangeOperation } from "../../gen/ctm/v1/change_request_service.js";
import { invalidArgument } from "../cli-error.js";
import { readJsonFile } from "../read-json-file.js";
import { applyFile } from "./apply-file.js";

/**
 * The operations of a change request, from the file `ctm apply` reads, rollout plans included.
 * A compare-and-set or a forced delete in the file is refused rather than dropped, since the
 * request would then write something other than the file says.
 */
export async function changeFile(file: string): Promise<{ operations: ChangeOperation[]; message?: string }> {
  const { ops, message } = applyFile(await readJsonFile(file));
  const operations = ops.map((o, i): ChangeOperation => {
    const op = o.operation!;
    const at = `operations[${i}].${op.$case}`;
    if (op.value.expectedVersion !== undefined) throw invalidArgument(`${at}.expected_version`, "a change request is guarded by its base revision (--base), not by versions");
    if (op.$case === "delete") {
      if (op.value.force) throw invalidArgument(`${at}.force`, "a change request cannot force a delete");
      return { operation: { $case: "delete", value: { key: op.value.key } } };
    }
    if (op.value.value === undefined) throw invalidArgument(`${at}.value`, "is required");
    return { operation: { $case: "set", value: { key: op.value.key, value: op.value.value, rollout: op.value.rollout } } };
  });
  return { operations, message };
}
