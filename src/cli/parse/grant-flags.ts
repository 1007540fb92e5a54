import { InvalidArgumentError } from "commander";
import { Verb, type Grant } from "../../gen/ctm/v1/auth_service.js";

const VERBS: Record<string, Verb> = {
  read: Verb.VERB_READ,
  write: Verb.VERB_WRITE,
  rollout: Verb.VERB_ROLLOUT,
  report: Verb.VERB_REPORT,
  admin: Verb.VERB_ADMIN,
  approve: Verb.VERB_APPROVE,
  break_glass: Verb.VERB_BREAK_GLASS,
};

export const verbName = (v: Verb): string => Object.entries(VERBS).find(([, n]) => n === v)?.[0] ?? String(v);

/**
 * One `--grant`: `VERBS:GLOBS[@ENVIRONMENTS]`, each a comma-separated list, e.g.
 * `read,write:app/**,svc/*\/flags/**@dev,staging`. Without `@`, every environment.
 */
export function parseGrant(text: string, previous: Grant[] = []): Grant[] {
  const m = /^([a-z_,]+):([^@]+)(?:@(.+))?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not VERBS:GLOBS[@ENVIRONMENTS] (e.g. read,write:app/**@dev,staging)`);
  const [, verbs, keys, envs] = m as unknown as [string, string, string, string | undefined];
  const parsed = verbs.split(",").map((v) => {
    const verb = VERBS[v];
    if (verb === undefined) throw new InvalidArgumentError(`"${v}" is not a verb (${Object.keys(VERBS).join(", ")})`);
    return verb;
  });
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  return [...previous, { verbs: parsed, keys: list(keys), environments: envs === undefined ? [] : list(envs) }];
}

/** A grant as one line, the way `--grant` takes it. */
export const formatGrant = (g: Grant): string =>
  `${g.verbs.map(verbName).join(",")}:${g.keys.join(",")}${g.environments.length > 0 ? `@${g.environments.join(",")}` : ""}`;
