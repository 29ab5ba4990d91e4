/**
 * The operator's command line, in the manner of Mastodon's tootctl: `npm run admin -- <command>`.
 * It uses the same configuration (DATABASE_URL, DATA_DIR, ...) as the server and may run while
 * the server runs on PostgreSQL (the embedded database is one process's: stop the server
 * first). Its entry is federation/admin.ts, which adds federation's consistency checks.
 * @module
 */
import { parseArgs } from "node:util";
import { createAccount } from "./accounts/accounts.ts";
import { deleteUser, listUsers, resetPassword, setRole, suspendUser, unsuspendUser } from "./accounts/admin.ts";
import { AuthCache } from "./accounts/auth-cache.ts";
import { ExportMaker } from "./accounts/exports.ts";
import { ProfileLinkVerifier } from "./accounts/profile-links.ts";
import { createTokenService } from "./accounts/tokens.ts";
import { type Command, type CommandRun, one, UsageError } from "./admin-command.ts";
import { instanceCommands } from "./admin-instance.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { type ConsistencyCheck, checkConsistency, coreChecks } from "./consistency.ts";
import { DataDirInUseError, openDatabase } from "./db/client.ts";
import { migrateDatabase } from "./db/migrate.ts";
import { deliveryStates } from "./delivery/streams.ts";
import type { Deps } from "./deps.ts";
import { AppError } from "./errors.ts";
import { RateLimiter } from "./http/rate-limiter.ts";
import { setupLogging } from "./log.ts";
import { SendBatcher } from "./messages/send-batch.ts";
import { SendContextCache } from "./messages/send-context.ts";
import { Metrics } from "./metrics.ts";
import { LinkPreviewer } from "./previews/previewer.ts";
import { listAllRooms } from "./rooms/rooms.ts";
import { loadSecrets, urlSigningKey } from "./secrets.ts";
import { blockServer, listBlockedServers, listRefusals, unblockServer } from "./servers.ts";

const usage = `Usage: npm run admin -- <command> [options]

  users:create <name> --password <p> [--display-name <n>]   create an account
  users:list [--json]                                       list accounts
  users:suspend <name>                                      block logins, end every session
  users:unsuspend <name>                                    lift a suspension
  users:reset-password <name> [--password <p>]              set a password (random if none), end sessions
  users:delete <name>                                       delete an account and its sessions
  users:role <name> <user|admin>                            make an account an admin of the instance, or not
  users:approve <name>                                      let in a sign-up that waits for approval
  users:reject <name>                                       refuse a waiting sign-up (deletes it)
  registrations [open|approval|closed]                      show or set who may sign up; lists who waits
  rooms:list [--json]                                       list the rooms hosted here and mirrored
  servers:block <host> [--reason <r>]                       refuse a remote server (and its subdomains)
  servers:unblock <host>                                    federate with it again
  servers:list                                              list blocked servers
  servers:deliveries [--json]                               each destination's delivery stream: behind, failures
  servers:refusals [--json]                                 what other servers sent that the inbox does not handle
  access:allow <cidr> [--scope signup|login|api] [--note <n>]  admit only such networks (to sign up, log in, or the API)
  access:deny <cidr> [--scope signup|login|api] [--note <n>]   refuse a network (403 address_denied)
  access:list [--json]                                      list the access rules by address
  access:remove <id>                                        remove an access rule
  consistency:check [--fix] [--json]                        find (and repair) rows and files that disagree;
                                                            also \`npm run check-consistency [-- --fix]\`
`;

const commands: Record<string, Command> = {
  async "users:create"({ deps, args, options, print }) {
    const password = options.password;
    if (typeof password !== "string") throw new UsageError("users:create needs --password.");
    const displayName = typeof options["display-name"] === "string" ? options["display-name"] : undefined;
    const user = await createAccount(deps, { username: one(args), password, displayName });
    print(`Created ${user.username} (${user.id}).`);
  },
  async "users:list"({ deps, options, print }) {
    const users = await listUsers(deps);
    if (options.json) {
      print(
        JSON.stringify(
          users.map((u) => ({
            id: u.id,
            username: u.username,
            displayName: u.displayName,
            createdAt: u.createdAt.toISOString(),
            suspended: u.suspendedAt != null,
            role: u.role,
          })),
        ),
      );
      return;
    }
    for (const u of users) {
      const marks = `${u.role === "admin" ? "\tadmin" : ""}${u.suspendedAt ? "\tsuspended" : ""}`;
      print(`${u.username}\t${u.displayName}\t${u.createdAt.toISOString()}${marks}`);
    }
    print(`${users.length} user${users.length === 1 ? "" : "s"}.`);
  },
  async "users:suspend"({ deps, args, print }) {
    const user = await suspendUser(deps, one(args));
    print(`Suspended ${user.username}; every session has ended.`);
  },
  async "users:unsuspend"({ deps, args, print }) {
    const user = await unsuspendUser(deps, one(args));
    print(`${user.username} may log in again.`);
  },
  async "users:reset-password"({ deps, args, options, print }) {
    const given = typeof options.password === "string" ? options.password : undefined;
    const password = await resetPassword(deps, one(args), given);
    print(given ? "Password set; every session has ended." : `New password: ${password}`);
  },
  async "users:role"({ deps, args, print }) {
    const [name, role] = args;
    if (args.length !== 2 || !name || !role) throw new UsageError("users:role needs a user name and a role.");
    const user = await setRole(deps, name, role);
    print(`${user.username} is now ${user.role === "admin" ? "an admin" : "a user"}.`);
  },
  async "users:delete"({ deps, args, print }) {
    await deleteUser(deps, one(args));
    print(`Deleted ${args[0]}.`);
  },
  async "consistency:check"({ deps, options, extraChecks, print }) {
    const fix = options.fix === true;
    const checks = [...coreChecks, ...(await extraChecks())];
    const { found, remaining } = await checkConsistency(deps, { fix, checks });
    if (options.json) {
      print(JSON.stringify({ found, remaining }));
    } else {
      for (const f of found) print(`${f.check}\t${f.subject}\t${f.problem}\t${fix ? "fixed: " : "fix: "}${f.repair}`);
      print(
        `${found.length} finding${found.length === 1 ? "" : "s"}${fix ? `, ${remaining.length} left after repair` : ""}.`,
      );
    }
    // Like fsck: 1 when something is (still) wrong.
    return remaining.length > 0 ? 1 : 0;
  },
};

Object.assign(commands, {
  async "rooms:list"({ deps, options, print }) {
    const rows = await listAllRooms(deps);
    if (options.json) {
      print(JSON.stringify(rows));
      return;
    }
    for (const r of rows) {
      print(
        `${r.id}\t${r.visibility}${r.direct ? " direct" : ""}\t${r.members} members\t${r.lastSeq} messages\t${r.iri ?? "here"}\t${r.name}`,
      );
    }
    print(`${rows.length} room${rows.length === 1 ? "" : "s"}.`);
  },
  async "servers:block"({ deps, args, options, print }) {
    const reason = typeof options.reason === "string" ? options.reason : "";
    const { host, removed } = await blockServer(deps, one(args, "server name"), reason);
    print(`Blocked ${host}; ${removed} membership${removed === 1 ? "" : "s"} ended.`);
  },
  async "servers:unblock"({ deps, args, print }) {
    const lifted = await unblockServer(deps, one(args, "server name"));
    print(lifted ? `Unblocked ${args[0]}.` : `${args[0]} was not blocked.`);
  },
  async "servers:deliveries"({ deps, options, print }) {
    const rows = await deliveryStates(deps.db);
    if (options.json) {
      print(JSON.stringify(rows));
      return;
    }
    for (const r of rows) {
      const failing =
        r.failures > 0 ? `\t${r.failures} failures, next ${r.nextAttemptAt.toISOString()}: ${r.lastError}` : "";
      print(`${r.inbox}\t${r.queued - r.position} behind\t${r.signatureSpec ?? "scheme unknown"}${failing}`);
    }
    print(`${rows.length} destination${rows.length === 1 ? "" : "s"}.`);
  },
  async "servers:refusals"({ deps, options, print }) {
    const rows = await listRefusals(deps);
    if (options.json) {
      print(JSON.stringify(rows));
      return;
    }
    for (const r of rows) print(`${r.host}\t${r.code}\t${r.type}\t${r.count}\tlast ${r.lastAt.toISOString()}`);
    print(`${rows.length} kind${rows.length === 1 ? "" : "s"} of refusal.`);
  },
  async "servers:list"({ deps, print }) {
    const rows = await listBlockedServers(deps);
    for (const r of rows) print(`${r.host}\t${r.createdAt.toISOString()}\t${r.reason}`);
    print(`${rows.length} blocked server${rows.length === 1 ? "" : "s"}.`);
  },
  ...instanceCommands,
} satisfies Record<string, Command>);

/** Where a run writes: the process's stdout and stderr, or a test's buffers. */
export interface AdminOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: AdminOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

type ParsedLine = { command: Command; args: string[]; options: CommandRun["options"] };

/** Parses a command line: the command to run, or the exit status of a usage error or of --help. */
function parseLine(argv: string[], output: AdminOutput): ParsedLine | number {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        password: { type: "string" },
        "display-name": { type: "string" },
        json: { type: "boolean" },
        reason: { type: "string" },
        scope: { type: "string" },
        note: { type: "string" },
        fix: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    output.err(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const [name, ...args] = parsed.positionals;
  const command = name ? commands[name] : undefined;
  if (parsed.values.help || command == null) {
    const text = name && command == null ? `Unknown command ${name}.\n\n${usage}` : usage;
    if (command == null && name) output.err(text);
    else output.out(text);
    return parsed.values.help ? 0 : 2;
  }
  return { command, args, options: parsed.values };
}

/** Runs a parsed command; usage and domain errors become their exit status and a message. */
async function runParsed(
  deps: Deps,
  { command, args, options }: ParsedLine,
  extraChecks: (deps: Deps) => Promise<readonly ConsistencyCheck[]>,
  output: AdminOutput,
): Promise<number> {
  try {
    const print = (line: string) => output.out(`${line}\n`);
    const status = await command({ deps, args, options, print, extraChecks: () => extraChecks(deps) });
    return typeof status === "number" ? status : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`${error.message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof AppError) {
      output.err(`${error.message} (${error.code})\n`);
      return 1;
    }
    throw error;
  }
}

/**
 * Runs a command line on dependencies that are already set up (a test's database): the same
 * commands, output and exit statuses as {@link runAdmin}, without opening the configured
 * database.
 */
export async function runAdminOn(
  deps: Deps,
  argv: string[],
  output: AdminOutput,
  extraChecks: (deps: Deps) => Promise<readonly ConsistencyCheck[]> = async () => [],
): Promise<number> {
  const line = parseLine(argv, output);
  return typeof line === "number" ? line : await runParsed(deps, line, extraChecks, output);
}

/**
 * Runs one command on the configured database and answers the exit status.
 * @param extraChecks Consistency checks beyond the core ones, for the configured server; asked
 *   for only by the consistency check.
 */
export async function runAdmin(
  argv: string[],
  extraChecks: (deps: Deps) => Promise<readonly ConsistencyCheck[]> = async () => [],
): Promise<number> {
  const output = processOutput;
  const line = parseLine(argv, output);
  if (typeof line === "number") return line;
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      output.err(`${error.message}\n`);
      return 78;
    }
    throw error;
  }
  await setupLogging(config.logLevel === "info" ? "warning" : config.logLevel, "pretty");
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase({
      url: config.databaseUrl,
      dataDir: config.dataDir,
      poolSize: 2,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
    });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    output.err(`${error.message}\n`);
    return 75;
  }
  try {
    await migrateDatabase(database);
    const secrets = loadSecrets(config);
    const deps: Deps = {
      config,
      db: database.db,
      tokens: await createTokenService(secrets.jwtPrivateKey, config.origin),
      // Never started: the commands serve no requests.
      limits: new RateLimiter(database.db),
      // This process answers no requests; the servers' own caches let go of a suspended or
      // deleted user's sessions within their `sessionCacheMs`.
      auth: new AuthCache(),
      urlKey: urlSigningKey(secrets),
      sends: new SendBatcher(database.db),
      // No hub feeds it here, so it keeps nothing.
      sendContexts: new SendContextCache(),
      previews: new LinkPreviewer(),
      profileLinks: new ProfileLinkVerifier(),
      exports: new ExportMaker(),
      metrics: new Metrics(),
    };
    return await runParsed(deps, line, extraChecks, output);
  } finally {
    await database.close();
  }
}
