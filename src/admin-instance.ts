/**
 * The operator's commands about the instance itself: who may sign up (and approving who
 * waits), and the access rules by address. Part of admin.ts's command line.
 * @module
 */
import { type AccessScope, accessScopes, addAccessRule, listAccessRules, removeAccessRule } from "./access/rules.ts";
import {
  approveSignUp,
  awaitingApproval,
  registrationMode,
  rejectSignUp,
  setRegistrationMode,
} from "./accounts/registrations.ts";
import { type Command, type CommandRun, one, UsageError } from "./admin-command.ts";
import { type RegistrationMode, registrationModes } from "./db/schema.ts";

export const instanceCommands: Record<string, Command> = {
  async "users:approve"({ deps, args, print }) {
    const user = await approveSignUp(deps, one(args));
    print(`Approved ${user.username}: they can log in now.`);
  },
  async "users:reject"({ deps, args, print }) {
    await rejectSignUp(deps, one(args));
    print(`Refused the sign-up of ${args[0]}; the account is deleted.`);
  },
  async registrations({ deps, args, print }) {
    if (args.length > 1) throw new UsageError("registrations takes at most one mode.");
    const wanted = args[0];
    if (wanted !== undefined) {
      if (!(registrationModes as readonly string[]).includes(wanted)) {
        throw new UsageError(`The mode is one of ${registrationModes.join(", ")}.`);
      }
      await setRegistrationMode(deps, wanted as RegistrationMode);
    }
    print(`Registrations: ${await registrationMode(deps)}.`);
    const waiting = await awaitingApproval(deps);
    for (const u of waiting) print(`${u.username}\twaiting since ${u.awaitingApprovalSince?.toISOString()}`);
    print(`${waiting.length} sign-up${waiting.length === 1 ? "" : "s"} waiting.`);
  },
  "access:allow": (run) => addRule(run, "allow"),
  "access:deny": (run) => addRule(run, "deny"),
  async "access:list"({ deps, options, print }) {
    const rules = await listAccessRules(deps);
    if (options.json) {
      print(JSON.stringify(rules));
      return;
    }
    for (const r of rules) print(`${r.id}\t${r.action}\t${r.scope}\t${r.cidr}\t${r.note}`);
    print(`${rules.length} access rule${rules.length === 1 ? "" : "s"}.`);
  },
  async "access:remove"({ deps, args, print }) {
    const id = one(args, "rule id");
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError("access:remove needs a rule id (see access:list).");
    print((await removeAccessRule(deps, id)) ? `Removed ${id}.` : `No rule ${id}.`);
  },
};

async function addRule({ deps, args, options, print }: CommandRun, action: "allow" | "deny"): Promise<void> {
  const scope = options.scope ?? "api";
  if (typeof scope !== "string" || !(accessScopes as readonly string[]).includes(scope)) {
    throw new UsageError(`--scope is one of ${accessScopes.join(", ")}.`);
  }
  const note = typeof options.note === "string" ? options.note : "";
  const rule = await addAccessRule(deps, {
    cidr: one(args, "network (CIDR)"),
    action,
    scope: scope as AccessScope,
    note,
  });
  print(`${rule.action === "allow" ? "Allowed" : "Denied"} ${rule.cidr} (${rule.scope}): rule ${rule.id}.`);
}
