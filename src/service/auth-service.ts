import type { Clock } from "../domain/clock.js";
import { compileRole, type Access, type CompiledGrant, authorize } from "../domain/auth/authorize.js";
import { ADMIN_ROLE, ROLE_PREFIX, TOKEN_PREFIX, checkRoleName, roleFromJson, roleToJson, type Role, type Verb } from "../domain/auth/role.js";
import { TOKEN_ID, mintToken, parseToken, secretMatches, tokenFromJson, tokenToJson, type TokenDocument } from "../domain/auth/token.js";
import { CtmError, failedPrecondition, invalidArgument, notFound, unauthenticated } from "../domain/errors.js";
import type { JsonValue } from "@ctm/core/json";
import { checkKey } from "../domain/limits.js";
import type { LogRecord } from "@ctm/core/record";
import { NAME_PATTERN } from "../domain/validation/validator.js";
import type { LogStore } from "../storage/log-store.js";
import type { ConfigService, WriteMeta } from "./config-service.js";
import type { Metrics } from "./metrics.js";
import type { ErrorLog } from "./validator-service.js";
import type { WriteGuard } from "./write-guard.js";

/** Someone the chain authenticated, with the grants of every role they hold. */
export interface Principal {
  /** `token:<name>` or `cert:<subject>`. */
  name: string;
  roles: string[];
  grants: readonly CompiledGrant[];
}

export interface TokenInfo {
  id: string;
  name: string;
  roles: string[];
  expiresAt?: number;
  createdAt: number;
  createdBy: string;
  lastUsedAt?: number;
}

/** The file the first admin token is written to, in the data directory, readable by its owner only. */
export const BOOTSTRAP_TOKEN_FILE = "admin.token";
const BOOTSTRAP_NAME = "bootstrap-admin";
/** The store note holding each token's last use (JSON: id -> ms), and how often it is written. */
const USAGE_NOTE = "auth/token-last-used";
const USAGE_FLUSH_MS = 60_000;
/** Entries each cache holds at most; past it, it starts over (a recomputation is the only cost). */
const CACHE_LIMIT = 10_000;
/** Questions one CheckAccess may ask: a page's worth, so one call cannot hold the loop. */
export const MAX_ACCESS_CHECKS = 100;

/**
 * Tokens and roles, kept in memory from their documents under `_ctm/auth/` (loaded at start
 * and on every commit, as validators are), and the two questions the call chain asks: who is
 * this (authenticate), and may they do this (authorize).
 */
export class AuthService implements WriteGuard {
  private readonly roles = new Map<string, { role: Role; grants: CompiledGrant[] }>();
  private readonly tokens = new Map<string, { doc: TokenDocument; record: LogRecord; createdAt: number; createdBy: string }>();
  /** Ids of deleted token documents: such a token is answered "revoked", not "unknown". */
  private readonly revoked = new Set<string>();
  /** When each token was last accepted; kept in the store's notes (see flushUsage). */
  private readonly lastUsed = new Map<string, number>();
  /** Whether lastUsed changed since it was last written. */
  private usageChanged = false;
  private usageTimer: NodeJS.Timeout | undefined;
  /** This replica's name when several share the store: each saves its own last-used note. */
  replica: string | undefined;
  /** Each token's principal with its grants compiled, until an auth document changes. */
  private readonly principals = new Map<string, Principal>();
  /**
   * Header values already verified, until an auth document changes (a revocation clears it):
   * a repeat caller costs one lookup, not a parse and a SHA-256. Expiry is still checked.
   */
  private readonly verified = new Map<string, { id: string; principal: Principal; expiresAt?: number }>();
  /** Single-key decisions (the shape of every Get), until an auth document changes. */
  private readonly decisions = new Map<string, CtmError | null>();
  private readonly unsubscribe: () => void;
  private config: ConfigService | undefined;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly metrics?: Metrics,
    private readonly logError?: ErrorLog,
  ) {
    for (const r of store.latestUnder("_ctm/auth/")) this.observe(r);
    this.unsubscribe = store.onCommit((records) => {
      for (const r of records) if (r.key.startsWith("_ctm/auth/")) this.observe(r);
    });
  }

  attach(config: ConfigService): void {
    this.config = config;
  }

  /**
   * Loads the tokens' last-used times and writes them every `flushMs` while they change. A token
   * used in every call writes nothing per call: the time is noted in memory at minute precision,
   * and a crash loses at most the last interval of it.
   */
  async loadUsage(flushMs = USAGE_FLUSH_MS): Promise<void> {
    // Replicas sharing a store each save their own note (see `replica`); the newest time wins.
    for await (const [, note] of this.store.notes(USAGE_NOTE)) {
      try {
        for (const [id, at] of Object.entries(JSON.parse(note.toString("utf8")) as Record<string, unknown>)) {
          if (TOKEN_ID.test(id) && typeof at === "number" && Number.isFinite(at) && at > (this.lastUsed.get(id) ?? -Infinity)) this.lastUsed.set(id, at);
        }
      } catch (e) {
        // Advisory data: an unreadable note costs the times, never the start.
        this.logError?.({ err: e }, "the tokens' last-used note is unreadable; starting without it");
      }
    }
    this.usageTimer = setInterval(() => void this.flushUsage(), flushMs);
    this.usageTimer.unref();
  }

  /** Writes the last-used times if they changed, dropping tokens that no longer exist. */
  async flushUsage(): Promise<void> {
    if (!this.usageChanged) return;
    this.usageChanged = false;
    for (const id of this.lastUsed.keys()) if (!this.tokens.has(id)) this.lastUsed.delete(id);
    try {
      await this.store.writeNote(this.replica === undefined ? USAGE_NOTE : `${USAGE_NOTE}@${this.replica}`, Buffer.from(JSON.stringify(Object.fromEntries(this.lastUsed))));
    } catch (e) {
      this.usageChanged = true;
      this.logError?.({ err: e }, "could not write the tokens' last-used times");
    }
  }

  /** The last-used times when any changed since the previous call: a worker hands them to the primary. */
  takeUsage(): [string, number][] | undefined {
    if (!this.usageChanged) return undefined;
    this.usageChanged = false;
    return [...this.lastUsed];
  }

  /** Uses another process (a read worker) saw; the later time wins. */
  noteUsage(used: readonly [string, number][]): void {
    for (const [id, at] of used) {
      if (!this.tokens.has(id) || !Number.isFinite(at) || at <= (this.lastUsed.get(id) ?? 0)) continue;
      this.lastUsed.set(id, at);
      this.usageChanged = true;
    }
  }

  private used(id: string, now: number): void {
    const minute = now - (now % 60_000);
    if (this.lastUsed.get(id) === minute) return;
    this.lastUsed.set(id, minute);
    this.usageChanged = true;
  }

  /** Stops the flush timer and writes what changed since the last flush. */
  async close(): Promise<void> {
    clearInterval(this.usageTimer);
    await this.flushUsage();
    this.unsubscribe();
  }

  /**
   * Who presents `authorization` (a `Bearer <token>` header value) or, without one, a verified
   * client certificate's principal. UNAUTHENTICATED names the reason: missing, malformed,
   * unknown, expired, revoked.
   */
  authenticate(authorization: string | undefined, certificate: string | undefined): Principal {
    const known = authorization === undefined ? undefined : this.verified.get(authorization);
    if (known !== undefined && (known.expiresAt === undefined || this.clock.now() < known.expiresAt)) {
      this.used(known.id, this.clock.now());
      return known.principal;
    }
    if (authorization === undefined) {
      if (certificate !== undefined) {
        let p = this.principals.get(certificate);
        if (p === undefined) {
          // Keyed by `cert:...`, which no token id (16 hex digits) can equal; bounded like every cache here.
          if (this.principals.size >= 10_000) this.principals.clear();
          p = this.principal(certificate, this.rolesOfMember(certificate));
          this.principals.set(certificate, p);
        }
        return p;
      }
      throw this.refuse("missing", "no credentials: send `authorization: Bearer <token>`");
    }
    const m = /^Bearer +(\S+)$/i.exec(authorization);
    const parsed = m ? parseToken(m[1]!) : undefined;
    if (!parsed) throw this.refuse("malformed", "the authorization header is not `Bearer ctm_<id>_<secret>`");
    const t = this.tokens.get(parsed.id);
    if (t === undefined || !secretMatches(parsed.secret, t.doc.verifier)) {
      if (t === undefined && this.revoked.has(parsed.id)) throw this.refuse("revoked", `token ${parsed.id} was revoked`);
      throw this.refuse("unknown", "the token is not known");
    }
    const now = this.clock.now();
    if (t.doc.expiresAt !== undefined && now >= t.doc.expiresAt) throw this.refuse("expired", `token "${t.doc.name}" expired at ${new Date(t.doc.expiresAt).toISOString()}`);
    this.used(parsed.id, now);
    let p = this.principals.get(parsed.id);
    if (p === undefined) {
      p = this.principal(`token:${t.doc.name}`, [...t.doc.roles, ...this.rolesOfMember(`token:${t.doc.name}`)]);
      this.principals.set(parsed.id, p);
    }
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(authorization, { id: parsed.id, principal: p, ...(t.doc.expiresAt !== undefined ? { expiresAt: t.doc.expiresAt } : {}) });
    return p;
  }

  /** PERMISSION_DENIED naming the verb and the key or prefix, or nothing. */
  authorize(p: Principal, access: Access): void {
    // Keyed by the principal's object: a changed role makes new principals (the caches clear).
    const single = access.keys?.length === 1 && access.prefix === undefined && access.environments === undefined;
    const id = single ? `${p.name}\0${access.verb}\0${access.keys![0]}` : undefined;
    let denied = id === undefined ? undefined : this.decisions.get(id);
    if (denied === undefined) {
      denied = authorize(p.name, p.grants, access) ?? null;
      if (id !== undefined) {
        if (this.decisions.size >= CACHE_LIMIT) this.decisions.clear();
        this.decisions.set(id, denied);
      }
    }
    if (denied !== null) {
      this.metrics?.authDenials.inc({ verb: access.verb });
      throw denied;
    }
  }

  /** The principal named `name` with the roles and grants it holds now (WhoAmI, CheckAccess). */
  principalNamed(name: string): Principal {
    return this.principal(name, this.rolesOf(name));
  }

  /**
   * Whether `p` may do each of `asks`, decided by the same `authorize` as the chain's (the same
   * globs, `admin` under `_ctm/`) in any environment: a grant limited to some counts. No denial
   * is counted, since asking is not calling. Without a principal (auth off) all is allowed.
   */
  allows(p: Principal | undefined, asks: readonly { verb: Verb | undefined; key: string }[]): boolean[] {
    if (asks.length === 0 || asks.length > MAX_ACCESS_CHECKS) throw invalidArgument("accesses", `must hold 1-${MAX_ACCESS_CHECKS} accesses`);
    const checked = asks.map((a, i) => {
      if (a.verb === undefined) throw invalidArgument(`accesses[${i}].verb`, "must name a verb (VERB_READ, VERB_WRITE, ...)");
      return { verb: a.verb, key: checkKey(a.key, `accesses[${i}].key`) };
    });
    return checked.map((a) => p === undefined || authorize(p.name, p.grants, { verb: a.verb, keys: [a.key] }) === undefined);
  }

  /** The roles a principal holds now (for WhoAmI). */
  rolesOf(principal: string): string[] {
    const token = principal.startsWith("token:") ? [...this.tokens.values()].find((t) => `token:${t.doc.name}` === principal) : undefined;
    return [...new Set([...(token?.doc.roles ?? []), ...this.rolesOfMember(principal)])];
  }

  get hasTokens(): boolean {
    return this.tokens.size > 0;
  }

  /** A raw Set or Apply of an auth document gets the checks of the RPCs. */
  checkWrite(key: string, value: JsonValue, _rollout?: unknown, field = ""): void {
    if (key.startsWith(ROLE_PREFIX)) roleFromJson(checkRoleName(key.slice(ROLE_PREFIX.length), `${field}key`), value, `${field}value`);
    else if (key.startsWith(TOKEN_PREFIX)) this.checkTokenDocument(key.slice(TOKEN_PREFIX.length), tokenFromJson(value, `${field}value`), field);
  }

  checkRestore(key: string, value: JsonValue): void {
    this.checkWrite(key, value);
  }

  async createToken(req: { name: string; roles: string[]; expiresAt?: number }, meta: WriteMeta): Promise<{ token: string; info: TokenInfo }> {
    if (!NAME_PATTERN.test(req.name)) throw invalidArgument("name", "must be 1-128 letters, digits, . _ or -, starting with a letter or digit");
    if (req.roles.length === 0) throw invalidArgument("roles", "must name at least one role");
    if (req.expiresAt !== undefined && req.expiresAt <= this.clock.now()) throw invalidArgument("expires_at", "must be in the future");
    const minted = mintToken();
    const doc: TokenDocument = { name: req.name, roles: req.roles, verifier: minted.verifier, ...(req.expiresAt !== undefined ? { expiresAt: req.expiresAt } : {}) };
    this.checkTokenDocument(minted.id, doc);
    const record = await this.config!.set({ key: TOKEN_PREFIX + minted.id, value: tokenToJson(doc), expectedVersion: 0, ...meta });
    return { token: minted.token, info: this.info(minted.id, doc, record, record) };
  }

  listTokens(): TokenInfo[] {
    return [...this.tokens].map(([id, t]) => ({ ...this.info(id, t.doc, t.record), createdAt: t.createdAt, createdBy: t.createdBy })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Revokes by id or by name: the document is deleted, so the log says who revoked it and when. */
  async revokeToken(idOrName: string, meta: WriteMeta): Promise<LogRecord> {
    const id = TOKEN_ID.test(idOrName) && this.tokens.has(idOrName) ? idOrName : [...this.tokens].find(([, t]) => t.doc.name === idOrName)?.[0];
    if (id === undefined) throw notFound(`token "${idOrName}" does not exist`);
    return this.config!.delete({ key: TOKEN_PREFIX + id, ...meta });
  }

  async setRole(role: Role, meta: WriteMeta & { expectedVersion?: number }): Promise<LogRecord> {
    checkRoleName(role.name, "role.name");
    const value = roleToJson(role);
    roleFromJson(role.name, value, "role");
    return this.config!.set({ key: ROLE_PREFIX + role.name, value, ...meta });
  }

  async deleteRole(name: string, meta: WriteMeta): Promise<LogRecord> {
    if (!this.roles.has(name)) throw notFound(`role "${name}" does not exist`);
    return this.config!.delete({ key: ROLE_PREFIX + name, ...meta });
  }

  listRoles(): Role[] {
    return [ADMIN_ROLE, ...[...this.roles.values()].map((r) => r.role).sort((a, b) => a.name.localeCompare(b.name))];
  }

  /**
   * With no token yet, mints one with the built-in admin role and answers its secret, for the
   * composition root to hand over (a 0600 file, never the log); undefined when tokens exist.
   */
  async bootstrap(): Promise<string | undefined> {
    if (this.hasTokens) return undefined;
    const { token } = await this.createToken({ name: BOOTSTRAP_NAME, roles: [ADMIN_ROLE.name] }, { author: "ctmd", principal: "ctmd", message: "first admin token, written to the data directory" });
    return token;
  }

  private checkTokenDocument(id: string, doc: TokenDocument, field = ""): void {
    if (!TOKEN_ID.test(id)) throw invalidArgument(`${field}key`, `must end in a token id of 16 hex digits after ${TOKEN_PREFIX}`);
    for (const [other, t] of this.tokens) if (other !== id && t.doc.name === doc.name) throw failedPrecondition(`a token named "${doc.name}" exists already (id ${other})`);
    const unknown = doc.roles.filter((r) => r !== ADMIN_ROLE.name && !this.roles.has(r));
    if (unknown.length > 0) throw invalidArgument(field ? `${field}value.roles` : "roles", `names roles that do not exist: ${unknown.join(", ")}`);
  }

  private info(id: string, doc: TokenDocument, record: LogRecord, first = record): TokenInfo {
    return {
      id,
      name: doc.name,
      roles: doc.roles,
      ...(doc.expiresAt !== undefined ? { expiresAt: doc.expiresAt } : {}),
      createdAt: first.time,
      createdBy: first.principal ?? first.author,
      ...(this.lastUsed.has(id) ? { lastUsedAt: this.lastUsed.get(id)! } : {}),
    };
  }

  private rolesOfMember(principal: string): string[] {
    return [...this.roles.values()].filter((r) => r.role.members.includes(principal)).map((r) => r.role.name);
  }

  private principal(name: string, roles: string[]): Principal {
    const grants = roles.flatMap((r) => (r === ADMIN_ROLE.name ? compileRole(ADMIN_ROLE) : (this.roles.get(r)?.grants ?? [])));
    return { name, roles, grants };
  }

  private refuse(reason: string, message: string): CtmError {
    this.metrics?.authFailures.inc({ reason });
    return unauthenticated(message, reason);
  }

  private observe(r: LogRecord): void {
    this.principals.clear();
    this.verified.clear();
    this.decisions.clear();
    try {
      if (r.key.startsWith(ROLE_PREFIX)) {
        const name = r.key.slice(ROLE_PREFIX.length);
        this.roles.delete(name);
        if (!r.deleted) this.roles.set(name, { role: roleFromJson(name, r.value), grants: [] });
        const loaded = this.roles.get(name);
        if (loaded) loaded.grants = compileRole(loaded.role);
      } else if (r.key.startsWith(TOKEN_PREFIX)) {
        const id = r.key.slice(TOKEN_PREFIX.length);
        const before = this.tokens.get(id);
        this.tokens.delete(id);
        if (r.deleted) this.revoked.add(id);
        else {
          this.revoked.delete(id);
          // When and by whom: the first version's record, kept across edits of the document.
          const first = before?.record ?? r;
          this.tokens.set(id, { doc: tokenFromJson(r.value), record: r, createdAt: before?.createdAt ?? first.time, createdBy: before?.createdBy ?? first.principal ?? first.author });
        }
      }
    } catch (e) {
      if (!(e instanceof CtmError)) throw e;
      // Fails closed: a document that cannot be read grants nothing.
      this.logError?.({ key: r.key, version: r.version, reason: e.message }, "auth document cannot be read: it grants nothing until it is fixed or deleted");
    }
  }
}
