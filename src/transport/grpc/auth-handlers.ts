import type { ResponseHeader } from "../../gen/ctm/v1/record.js";
import type { AuthServiceServer, Grant as PbGrant, Role as PbRole, Token as PbToken } from "../../gen/ctm/v1/auth_service.js";
import { Verb as PbVerb } from "../../gen/ctm/v1/auth_service.js";
import type { Grant, Role, Verb } from "../../domain/auth/role.js";
import { invalidArgument } from "../../domain/errors.js";
import { currentPrincipal } from "../../service/acting-principal.js";
import type { AuthService, Principal, TokenInfo } from "../../service/auth-service.js";
import { toEntry } from "./entry-mapper.js";
import { unary, type Rpc } from "./rpc-logger.js";

type Header = () => ResponseHeader;
const meta = (r: { author: string; message: string }) => ({ author: r.author, message: r.message });

/** Each wire verb by name: a verb added to one side and not the other fails to compile. */
const VERB_OF: Record<PbVerb, Verb | undefined> = {
  [PbVerb.VERB_UNSPECIFIED]: undefined,
  [PbVerb.VERB_READ]: "read",
  [PbVerb.VERB_WRITE]: "write",
  [PbVerb.VERB_ROLLOUT]: "rollout",
  [PbVerb.VERB_REPORT]: "report",
  [PbVerb.VERB_ADMIN]: "admin",
  [PbVerb.VERB_APPROVE]: "approve",
  [PbVerb.VERB_BREAK_GLASS]: "break_glass",
  [PbVerb.UNRECOGNIZED]: undefined,
};
const PB_VERB_OF: Record<Verb, PbVerb> = {
  read: PbVerb.VERB_READ,
  write: PbVerb.VERB_WRITE,
  rollout: PbVerb.VERB_ROLLOUT,
  report: PbVerb.VERB_REPORT,
  admin: PbVerb.VERB_ADMIN,
  approve: PbVerb.VERB_APPROVE,
  break_glass: PbVerb.VERB_BREAK_GLASS,
};

/** A wire verb, or undefined for none and for a number no verb has. */
const verbOf = (v: PbVerb): Verb | undefined => (Object.hasOwn(VERB_OF, v) ? VERB_OF[v] : undefined);
const toVerb = (v: PbVerb, field: string): Verb => {
  const verb = verbOf(v);
  if (verb === undefined) throw invalidArgument(field, "must name a verb (VERB_READ, VERB_WRITE, ...)");
  return verb;
};
const toPbVerb = (v: Verb): PbVerb => PB_VERB_OF[v];

function toRole(r: PbRole | undefined): Role {
  if (r === undefined) throw invalidArgument("role", "is required");
  return {
    name: r.name,
    grants: r.grants.map((g, i): Grant => ({
      verbs: g.verbs.map((v, j) => toVerb(v, `role.grants[${i}].verbs[${j}]`)),
      keys: g.keys,
      ...(g.environments.length > 0 ? { environments: g.environments } : {}),
    })),
    members: r.members,
    description: r.description,
  };
}

const toPbRole = (r: Role): PbRole => ({
  name: r.name,
  grants: r.grants.map((g): PbGrant => ({ verbs: g.verbs.map(toPbVerb), keys: g.keys, environments: g.environments ?? [] })),
  members: r.members,
  description: r.description,
});

/** The grants of a principal's roles, each once (two roles may grant alike). */
function grantsOf(p: Principal): PbGrant[] {
  const seen = new Set<string>();
  const out: PbGrant[] = [];
  for (const { grant } of p.grants) {
    const pb: PbGrant = { verbs: grant.verbs.map(toPbVerb), keys: grant.keys, environments: grant.environments ?? [] };
    const id = JSON.stringify(pb);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(pb);
  }
  return out;
}

const toPbToken = (t: TokenInfo): PbToken => ({
  id: t.id,
  name: t.name,
  roles: t.roles,
  expiresAt: t.expiresAt === undefined ? undefined : new Date(t.expiresAt),
  createdAt: new Date(t.createdAt),
  createdBy: t.createdBy,
  lastUsedAt: t.lastUsedAt === undefined ? undefined : new Date(t.lastUsedAt),
});

/** AuthService: tokens and roles. The chain has already checked that the caller may manage them. */
export function authHandlers(svc: AuthService, enabled: boolean, header: Header, rpc: Rpc): AuthServiceServer {
  return {
    createToken: unary(rpc, "Auth.CreateToken", (r) => r.name, async (r) => {
      const { token, info } = await svc.createToken({ name: r.name, roles: r.roles, expiresAt: r.expiresAt?.getTime() }, meta(r));
      return { header: header(), token: toPbToken(info), secret: token };
    }),
    listTokens: unary(rpc, "Auth.ListTokens", () => undefined, () => ({ header: header(), tokens: svc.listTokens().map(toPbToken) })),
    revokeToken: unary(rpc, "Auth.RevokeToken", (r) => r.token, async (r) => ({ header: header(), entry: toEntry(await svc.revokeToken(r.token, meta(r))) })),
    setRole: unary(rpc, "Auth.SetRole", (r) => r.role?.name, async (r) => ({ header: header(), entry: toEntry(await svc.setRole(toRole(r.role), { ...meta(r), expectedVersion: r.expectedVersion })) })),
    deleteRole: unary(rpc, "Auth.DeleteRole", (r) => r.name, async (r) => ({ header: header(), entry: toEntry(await svc.deleteRole(r.name, meta(r))) })),
    listRoles: unary(rpc, "Auth.ListRoles", () => undefined, () => ({ header: header(), roles: svc.listRoles().map(toPbRole) })),
    whoAmI: unary(rpc, "Auth.WhoAmI", () => undefined, () => {
      const name = currentPrincipal();
      const me = enabled && name !== undefined ? svc.principalNamed(name) : undefined;
      return { header: header(), principal: name ?? "anonymous", roles: me?.roles ?? [], authEnabled: enabled, grants: me ? grantsOf(me) : [] };
    }),
    // The console asks here what a token may do rather than matching WhoAmI's grants itself:
    // the daemon's key globs (RE2, `**` spanning none or many segments, `_ctm/` needing admin)
    // would need a second implementation in the browser, which could drift from the one that
    // decides. Answering from `authorize` keeps one.
    checkAccess: unary(rpc, "Auth.CheckAccess", (r) => r.accesses[0]?.key, (r) => {
      const name = currentPrincipal();
      const me = enabled && name !== undefined ? svc.principalNamed(name) : undefined;
      return { header: header(), allowed: svc.allows(me, r.accesses.map((a) => ({ verb: verbOf(a.verb), key: a.key }))) };
    }),
  };
}
