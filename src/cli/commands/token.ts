import { Command, Option } from "commander";
import { CreateTokenResponse, ListTokensResponse, RevokeTokenResponse } from "../../gen/ctm/v1/auth_service.js";
import { run } from "../cli-context.js";
import { formatTime } from "../format/format-values.js";
import { renderFields, renderTable } from "../format/render-table.js";
import { parseTime } from "../parse/parse-time.js";

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function createCommand(): Command {
  return new Command("create")
    .description("mint a token; its secret is printed once, here, and never stored by ctmd")
    .argument("<name>", "unique name; the principal is token:<name>")
    .addOption(new Option("--role <role>", "a role it holds (repeat for more)").argParser(collect).makeOptionMandatory())
    .addOption(new Option("--expires <time>", 'when it stops working: "in 30d", "in 12h" or an RFC 3339 time'))
    .option("-m, --message <text>", "why, recorded in the log", "")
    .action(
      run<{ role: string[]; expires?: string; message: string }>(async (ctx, [name], o) => {
        const r = await ctx.api.createToken({ name, roles: o.role, expiresAt: o.expires === undefined ? undefined : parseTime(o.expires), author: ctx.author, message: o.message });
        if (ctx.json) return ctx.printJson(CreateTokenResponse.toJSON(r));
        const t = r.token!;
        ctx.print(
          renderFields(
            [
              ["token", r.secret],
              ["id", t.id],
              ["principal", `token:${t.name}`],
              ["roles", t.roles.join(", ")],
              ["expires", t.expiresAt ? formatTime(t.expiresAt) : "never"],
            ],
            ctx.c,
          ),
        );
        ctx.note(ctx.ce.dim("Store the token now: ctmd keeps only a hash of it. Send it as `authorization: Bearer <token>` (ctm --token, CTM_TOKEN)."));
      }),
    );
}

function listCommand(): Command {
  return new Command("list").description("tokens, without their secrets: id, name, roles, expiry, creator, last use").action(
    run(async (ctx) => {
      const r = await ctx.api.listTokens({});
      if (ctx.json) return ctx.printJson(ListTokensResponse.toJSON(r));
      if (r.tokens.length === 0) return ctx.print(ctx.c.dim("no tokens"));
      const when = (d: Date | undefined, none: string) => (d ? formatTime(d) : none);
      ctx.print(
        renderTable(
          ["id", "name", "roles", "expires", "created", "by", "last used"],
          r.tokens.map((t) => [t.id, ctx.c.bold(t.name), t.roles.join(", "), when(t.expiresAt, "never"), when(t.createdAt, "-"), t.createdBy, when(t.lastUsedAt, "-")]),
          ctx.c,
        ),
      );
    }),
  );
}

function revokeCommand(): Command {
  return new Command("revoke")
    .description("revoke a token by id or name; calls with it are refused from now on")
    .argument("<token>", "its id or name")
    .option("-m, --message <text>", "why, recorded in the log", "")
    .action(
      run<{ message: string }>(async (ctx, [token], o) => {
        const r = await ctx.api.revokeToken({ token, author: ctx.author, message: o.message });
        if (ctx.json) return ctx.printJson(RevokeTokenResponse.toJSON(r));
        ctx.print(`revoked ${token} (revision ${r.entry!.revision})`);
      }),
    );
}

/** `ctm token create|list|revoke`. */
export function tokenCommand(): Command {
  const cmd = new Command("token").description("bearer tokens: create, list, revoke");
  for (const sub of [createCommand(), listCommand(), revokeCommand()]) cmd.addCommand(sub);
  return cmd;
}
