import type { ServiceError } from "@grpc/grpc-js";
import { Violation, type ValidationRule } from "../../gen/ctm/v1/validator_service.js";
import { CliError } from "../cli-error.js";
import { isServiceError } from "../exit-codes.js";
import type { Colors } from "./colors.js";
import { describeRule } from "./describe-rule.js";
import { renderTable } from "./render-table.js";

/** A validator's rules by name, to say which rule each violation broke. */
export type RulesOf = (validator: string) => ValidationRule[] | undefined;

/** The violations a refused write carries in its `ctm-violations` trailer (JSON), with the total (`ctm-violations-total`). */
export function violationsOf(e: unknown): { violations: Violation[]; total: number } | undefined {
  if (!isServiceError(e)) return undefined;
  const raw = e.metadata?.get("ctm-violations")[0];
  if (typeof raw !== "string") return undefined;
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const violations = list.map((v) => Violation.fromJSON(v));
  const total = Number(e.metadata.get("ctm-violations-total")[0] ?? violations.length);
  return { violations, total: Number.isFinite(total) && total >= violations.length ? total : violations.length };
}

/** "[0] range 1..500", or "[0]" when the rule is not known. */
function ruleCell(v: Violation, rulesOf?: RulesOf): string {
  const rule = rulesOf?.(v.validator)?.[v.rule];
  return rule ? `[${v.rule}] ${describeRule(rule, 40)}` : `[${v.rule}]`;
}

/** A table: validator, rule (its index and what it checks), field, path, message. */
export function renderViolations(vs: Violation[], c: Colors, rulesOf?: RulesOf): string {
  const rows = vs.map((v) => [c.bold(v.validator), ruleCell(v, rulesOf), v.field || "-", v.path || "-", c.red(v.message)]);
  return renderTable(["validator", "rule", "field", "path", "message"], rows, c);
}

/**
 * The daemon's message lists the violations inline ("value: violates 2 rules: [a] ...; [b] ...");
 * when the table follows, the line keeps the summary before the list.
 */
function summary(e: ServiceError, shown: number, total: number): string {
  const text = (e.details || e.message).replace(/\(use force to add it anyway\)/, "(--force adds it anyway)");
  const cut = text.indexOf(": [");
  const head = cut > 0 ? text.slice(0, cut) : text;
  return `${head}${total > shown ? ` (${shown} of ${total} listed below; ctm validate lists them all)` : ""}`;
}

/**
 * A write the daemon refused because of validators, as a CliError whose detail lists the
 * violations: a table for people (with the rules when `rulesOf` knows them), proto JSON with --json.
 * Undefined for any other error.
 */
export function violationsError(e: unknown, c: Colors, json: boolean, rulesOf?: RulesOf): CliError | undefined {
  const found = violationsOf(e);
  if (!found || found.violations.length === 0) return undefined;
  const err = e as ServiceError;
  const { violations, total } = found;
  if (json) return new CliError(err.code, err.details || err.message, JSON.stringify({ violations: violations.map((v) => Violation.toJSON(v)), total }));
  return new CliError(err.code, summary(err, violations.length, total), renderViolations(violations, c, rulesOf));
}
