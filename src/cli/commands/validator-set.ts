import { Command, Option } from "commander";
import { SetValidatorResponse, type Validator } from "../../gen/ctm/v1/validator_service.js";
import { run } from "../cli-context.js";
import { describeRule } from "../format/describe-rule.js";
import { renderViolations } from "../format/violations.js";
import { addRuleOptions, RULE_FLAGS, RuleCollector, validatorFromJson } from "../parse/validator-flags.js";
import { addWriteOptions, writeFields, type WriteFlags } from "../parse/write-options.js";
import { readJsonFile } from "../read-json-file.js";

interface ValidatorFlags extends WriteFlags {
  keys?: string[];
  description?: string;
  force?: boolean;
  file?: string;
}

const list = (s: string): string[] => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

/** The validator the command line describes: --file as the base, <name>, --keys and --description over it. */
async function validatorFromFlags(name: string | undefined, o: ValidatorFlags, rules: RuleCollector, cmd: Command): Promise<Validator> {
  const problem = rules.problem();
  if (problem) cmd.error(problem, { exitCode: 2, code: "ctm.danglingPath" });
  const base = o.file !== undefined ? validatorFromJson(await readJsonFile(o.file), o.file) : undefined;
  const v: Validator = base ?? { name: "", keys: [], rules: await rules.rules(), description: "" };
  if (name !== undefined) v.name = name;
  if (o.keys !== undefined) v.keys = o.keys;
  if (o.description !== undefined) v.description = o.description;
  if (!base) {
    if (!v.name) cmd.error("error: missing required argument 'name' (or --file)", { exitCode: 2, code: "ctm.missingName" });
    if (v.keys.length === 0) cmd.error("error: required option '--keys <globs>' not specified (or --file)", { exitCode: 2, code: "ctm.missingKeys" });
    if (v.rules.length === 0) cmd.error("error: no rule: give --type, --range, --one-of, --regex or --schema (or --file)", { exitCode: 2, code: "ctm.noRule" });
  }
  return v;
}

export function validatorSetCommand(): Command {
  const rules = new RuleCollector();
  const cmd = new Command("set")
    .description("add or replace a validator: key globs and rules every write to those keys must pass")
    .argument("[name]", "letters, digits, . _ - (stored as _ctm/validators/<name>)")
    .addOption(new Option("--keys <globs>", "comma-separated key globs: * within a segment, ** across (db.*,payments/**)").argParser(list))
    .addOption(new Option("--description <text>", "what the validator is for"))
    .addOption(new Option("--force", "add it even though current values violate it (they are listed)"))
    .addOption(new Option("--file <validator.json>", "the whole Validator as proto JSON (- for stdin); <name>, --keys, --description override it").conflicts(RULE_FLAGS));
  addRuleOptions(cmd, rules);
  addWriteOptions(cmd);
  return cmd
    .addHelpText(
      "after",
      `
Rule flags apply in order, each at the --path before it:
  ctm validator set pool-limits --keys 'db.*' --type integer --range 1,500
  ctm validator set currency --keys 'checkout/**' --path /currency --one-of '"EUR","USD"' --path /amount --range 0,
  ctm validator set ids --keys 'users.*' --regex '^[a-z0-9-]+$' --description "user ids"
  ctm validator set checkout-schema --keys 'checkout/**' --schema checkout.schema.json
  ctm validator set --file validator.json     {"name", "keys", "rules": [{"path", "type"|"range"|"one_of"|"regex"|"json_schema"}]}

A validator that current values violate is refused (exit 9, the violations listed)
unless --force, which adds it and lists them.`,
    )
    .action(
      run<ValidatorFlags>(async (ctx, [name], o, command) => {
        const v = await validatorFromFlags(name, o, rules, command);
        const rulesOf = (n: string) => (n === v.name ? v.rules : undefined);
        const r = await ctx.api
          .setValidator({ validator: v, force: o.force === true, author: ctx.author, ...writeFields(o) })
          .catch(async (e: unknown) => Promise.reject(await ctx.explainViolations(e, rulesOf)));
        if (ctx.json) return ctx.printJson(SetValidatorResponse.toJSON(r));
        const c = ctx.c;
        const e = r.entry!;
        ctx.print(`${c.green("✓")} set validator ${c.bold(v.name)} v${e.version} (revision ${e.revision})`);
        ctx.print(`  keys ${v.keys.join(", ")}; ${v.rules.length} rule${v.rules.length === 1 ? "" : "s"}: ${v.rules.map((x) => describeRule(x)).join("; ")}`);
        if (r.existingViolations.length > 0) {
          ctx.print(c.yellow(`! forced: current values violate it (${r.existingViolations.length}):`));
          ctx.print(renderViolations(r.existingViolations, c, rulesOf));
        }
      }),
    );
}
