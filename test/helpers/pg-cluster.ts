/**
 * A PostgreSQL cluster of a test's own, made with Debian's postgresql-common tools, for tests
 * that stop and start the database under a running server. The shared cluster on 5432 is never
 * touched: each cluster has a unique name and a port of its own, trusts local TCP, and is
 * dropped by {@link PgCluster.drop}.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A running cluster of a test's own. */
export interface PgCluster {
  readonly name: string;
  readonly port: number;
  /** A URL for the `postgres` superuser on the `postgres` database, over TCP on loopback. */
  readonly url: string;
  /** Stops the server (the "fast" mode: clients are disconnected at once, as in a restart). */
  stop(): Promise<void>;
  /** Starts the server; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server if it runs and deletes the cluster with its data; never throws. */
  drop(): Promise<void>;
}

/** The newest PostgreSQL server installed under /usr/lib/postgresql. */
function serverVersion(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(`${root}/${v}/bin/postgres`))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest == null) throw new Error(`No PostgreSQL server is installed under ${root} (apt-get install postgresql).`);
  return newest;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * A free port below Linux's ephemeral range (32768 and up): a port from that range could be
 * taken by an outgoing connection while the cluster is stopped, and the restart would fail.
 */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (!existsSync(`/var/run/postgresql/.s.PGSQL.${port}`) && (await portIsFree(port))) return port;
  }
  throw new Error("No free port between 20000 and 30000 for a test cluster.");
}

async function command(file: string, args: string[]): Promise<void> {
  try {
    await run(file, args, { timeout: 60_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${String(error)}\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

/**
 * Creates and starts a cluster with a unique name on a free port (`pg_createcluster`, which
 * needs root, as the CI has). Authentication is `trust` (initdb's `--auth`), so the tests need
 * no password. The caller must call `drop()` (in afterAll), whatever happens.
 * @param onCreated Called with the cluster as soon as it may exist, before it has started: a
 *                  failed start leaves something for the caller to drop.
 * @param settings postgresql.conf settings over the defaults (`ssl=off`, `fsync=off`): a
 *                 benchmark of durable writes sets `fsync: "on"`, one that counts statements
 *                 `shared_preload_libraries: "pg_stat_statements"`.
 * @throws {Error} naming what is missing when not root or the tools are not installed.
 */
export async function createPgCluster(
  onCreated: (cluster: PgCluster) => void = () => {},
  settings: Record<string, string> = {},
): Promise<PgCluster> {
  if (process.getuid?.() !== 0) {
    throw new Error("This test creates a PostgreSQL cluster with pg_createcluster, which needs root.");
  }
  for (const tool of ["pg_createcluster", "pg_ctlcluster", "pg_dropcluster"]) {
    if (!existsSync(`/usr/bin/${tool}`)) {
      throw new Error(`/usr/bin/${tool} is missing: install postgresql-common (apt-get install postgresql).`);
    }
  }
  const version = serverVersion();
  const name = `fedchat_cluster_${process.pid}_${randomBytes(4).toString("hex")}`;
  const port = await clusterPort();
  // No systemd here, and under systemd the unit would not know this cluster's lifetime.
  const ctl = (action: string) => command("pg_ctlcluster", ["--skip-systemctl-redirect", version, name, action]);
  const cluster: PgCluster = {
    name,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl("stop"),
    start: () => ctl("start"),
    async drop() {
      try {
        await command("pg_dropcluster", ["--stop", version, name]);
      } catch (error) {
        // Nothing to drop when the creation never got far; anything else is worth seeing.
        if (!String(error).includes("does not exist")) console.warn(String(error));
      }
    },
  };
  onCreated(cluster);
  // A throwaway cluster: durability buys nothing and costs the shared disk.
  const options = { ssl: "off", fsync: "off", ...settings };
  await command("pg_createcluster", [
    version,
    name,
    "--port",
    String(port),
    // Never started at boot if a crashed run leaves it behind.
    "--start-conf=manual",
    ...Object.entries(options).flatMap(([key, value]) => ["--pgoption", `${key}=${value}`]),
    "--",
    "--auth=trust",
  ]);
  await cluster.start();
  return cluster;
}
