import { InvalidArgumentError, Option, type Command } from "commander";
import type { EvaluationContext } from "../../gen/ctm/v1/rollout.js";

export interface ContextFlags {
  unit?: string;
  env?: string;
  attr?: Record<string, string>;
  /** Only `get` has --request-id: it ties the answer to a request in the access log. */
  requestId?: string;
}

const collectAttr = (text: string, previous: Record<string, string> = {}): Record<string, string> => {
  const i = text.indexOf("=");
  if (i <= 0) throw new InvalidArgumentError(`"${text}" is not key=value`);
  return { ...previous, [text.slice(0, i)]: text.slice(i + 1) };
};

/** Adds --unit, --env and --attr k=v (repeatable): who is asking. */
export const addContextOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option("--unit <id>", "resolve for this unit (user, host, tenant)"))
    .addOption(new Option("--env <environment>", "the unit's environment, matched against rollout rings"))
    .addOption(new Option("--attr <key=value>", "an attribute for attribute rules (repeatable)").argParser(collectAttr));

/** The EvaluationContext of those flags; undefined when none was given. */
export function contextFromFlags(o: ContextFlags): EvaluationContext | undefined {
  if (o.unit === undefined && o.env === undefined && o.attr === undefined && o.requestId === undefined) return undefined;
  return { unitId: o.unit ?? "", environment: o.env ?? "", attributes: o.attr ?? {}, requestId: o.requestId ?? "" };
}
