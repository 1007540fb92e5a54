import { Command, Option } from "commander";
import { DeleteRoleResponse, ListRolesResponse, Role, SetRoleResponse } from "../../gen/ctm/v1/auth_service.js";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { renderFields, renderTable } from "../format/render-table.js";
import { formatGrant, parseGrant } from "../parse/grant-flags.js";
import { status } from "@grpc/grpc-js";

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function setCommand(): Command {
  return new Command("set")
    .description("create or replace a role: its grants, and the certificate principals bound to it")
    .argument("<name>", "role name")
    .addOption(new Option("--grant <VERBS:GLOBS[@ENVS]>", "e.g. read,write:app/**@dev,staging (repeat for more)").argParser(parseGrant).makeOptionMandatory())
    .addOption(new Option("--member <principal>", "bind a principal, e.g. cert:alice (repeat for more)").argParser(collect))
    .option("--description <text>", "what the role is for", "")
    .option("-m, --message <text>", "why, recorded in the log", "")
    .action(
      run<{ grant: Role["grants"]; member?: string[]; description: string; message: string }>(async (ctx, [name], o) => {
        const r = await ctx.api.setRole({ role: { name, grants: o.grant, members: o.member ?? [], description: o.description }, author: ctx.author, message: o.message });
        if (ctx.json) return ctx.printJson(SetRoleResponse.toJSON(r));
        ctx.print(`role ${name}: version ${r.entry!.version} (revision ${r.entry!.revision})`);
      }),
    );
}

const rowOf = (r: Role) => [r.name, r.grants.map(formatGrant).join("\n"), r.members.join("\n") || "-", r.description || "-"];

function listCommand(): Command {
  return new Command("list").description("every role, the built-in admin first").action(
    run(async (ctx) => {
      const r = await ctx.api.listRoles({});
      if (ctx.json) return ctx.printJson(ListRolesResponse.toJSON(r));
      ctx.print(renderTable(["role", "grants (verbs:globs@environments)", "members", "description"], r.roles.map(rowOf), ctx.c));
    }),
  );
}

function showCommand(): Command {
  return new Command("show")
    .description("one role")
    .argument("<name>", "role name")
    .action(
      run(async (ctx, [name]) => {
        const role = (await ctx.api.listRoles({})).roles.find((x) => x.name === name);
        if (role === undefined) throw new CliError(status.NOT_FOUND, `role "${name}" does not exist`);
        if (ctx.json) return ctx.printJson(Role.toJSON(role));
        ctx.print(renderFields([["role", role.name], ["grants", role.grants.map(formatGrant).join("\n")], ["members", role.members.join("\n") || "-"], ["description", role.description || "-"]], ctx.c));
      }),
    );
}

function deleteCommand(): Command {
  return new Command("delete")
    .description("delete a role; tokens that name it lose its grants")
    .argument("<name>", "role name")
    .option("-m, --message <text>", "why, recorded in the log", "")
    .action(
      run<{ message: string }>(async (ctx, [name], o) => {
        const r = await ctx.api.deleteRole({ name, author: ctx.author, message: o.message });
        if (ctx.json) return ctx.printJson(DeleteRoleResponse.toJSON(r));
        ctx.print(`deleted role ${name} (revision ${r.entry!.revision})`);
      }),
    );
}

/** `ctm role set|list|show|delete`. */
export function roleCommand(): Command {
  const cmd = new Command("role").description("roles: grants of verbs over key globs and environments");
  for (const sub of [setCommand(), listCommand(), showCommand(), deleteCommand()]) cmd.addCommand(sub);
  return cmd;
}

/** `ctm whoami`. */
export function whoamiCommand(): Command {
  return new Command("whoami").description("the principal and roles ctmd sees for these credentials").action(
    run(async (ctx) => {
      const r = await ctx.api.whoAmI({});
      if (ctx.json) return ctx.printJson({ principal: r.principal, roles: r.roles, authEnabled: r.authEnabled });
      ctx.print(renderFields([["principal", r.principal], ["roles", r.roles.join(", ") || "-"], ["auth", r.authEnabled ? "on" : "off (every call is allowed)"]], ctx.c));
    }),
  );
}
