import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// Docker does not run here, so this checks docker-compose.yml on paper: the wiring between the
// services, read the way Compose reads it (YAML merge keys included).

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const composePath = join(root, "docker-compose.yml");

interface Service {
  image?: string;
  command?: string | string[];
  working_dir?: string;
  environment?: Record<string, unknown> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  ports?: (string | number | { target?: number | string; published?: number | string; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  restart?: string;
  stop_grace_period?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(composePath, "utf8"), { merge: true }) as ComposeFile;
const services = compose.services;
const serviceNames = Object.keys(services);
const isDatabase = (s: Service) => /^(docker\.io\/(library\/)?)?postgres(:|$)/.test(s.image ?? "");

function service(name: string): Service {
  const s = services[name];
  if (s == null) throw new Error(`no service ${name}`);
  return s;
}

const databaseNames = serviceNames.filter((name) => isDatabase(service(name)));
const chatNames = serviceNames.filter((name) => !isDatabase(service(name)));

/** A service's environment as a map, from either of Compose's two forms. */
function environment(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf("=");
        return at < 0 ? [entry, ""] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? "" : String(v)]));
}

/** The port the server in a chat service listens on (config.ts defaults to 3000). */
function listenPort(name: string): number {
  return Number(environment(name).PORT ?? 3000);
}

function dependsOn(name: string): Record<string, { condition?: string }> {
  const deps = service(name).depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, {}])) : deps;
}

interface Mount {
  kind: "volume" | "bind" | "anonymous";
  source: string;
  target: string;
  readOnly: boolean;
}

function mounts(name: string): Mount[] {
  return (service(name).volumes ?? []).map((entry): Mount => {
    if (typeof entry !== "string") {
      const kind = entry.type === "bind" ? "bind" : entry.source ? "volume" : "anonymous";
      return { kind, source: entry.source ?? "", target: entry.target ?? "", readOnly: false };
    }
    const [source = "", target, mode = ""] = entry.split(":");
    if (target == null) return { kind: "anonymous", source: "", target: source, readOnly: false };
    const kind = /^[./~]/.test(source) ? "bind" : "volume";
    return { kind, source, target, readOnly: mode.split(",").includes("ro") };
  });
}

interface PublishedPort {
  hostIp: string | undefined;
  published: number;
  target: number;
}

function publishedPorts(name: string): PublishedPort[] {
  return (service(name).ports ?? []).flatMap((entry): PublishedPort[] => {
    if (typeof entry === "object") {
      if (entry.published == null) return [];
      return [{ hostIp: entry.host_ip, published: Number(entry.published), target: Number(entry.target) }];
    }
    const parts = String(entry)
      .replace(/\/(tcp|udp)$/, "")
      .split(":");
    if (parts.length < 2) return []; // container port only: Docker picks a host port
    const target = Number(parts.pop());
    const published = Number(parts.pop());
    return [{ hostIp: parts[0], published, target }];
  });
}

/** A Compose duration ("15s", "1m30s", "500ms") in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g, (_, n: string, unit: string) => {
    total += Number(n) * (units[unit] ?? Number.NaN);
    return "";
  });
  if (rest !== "" || text === "") throw new Error(`not a duration: ${text}`);
  return total;
}

/** Every string in the parsed file, to check none needs Compose's interpolation. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value != null && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

/** Runs a CMD-form healthcheck with `node` being this Node, and answers its exit code. */
function runHealthcheck(test: string[], env: Record<string, string>): Promise<number> {
  const [form, command, ...args] = test;
  if (form !== "CMD" || command !== "node")
    throw new Error(`expected a CMD healthcheck run by node: ${test.join(" ")}`);
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 15_000 }, (error) => {
      resolve(error == null ? 0 : typeof error.code === "number" ? error.code : -1);
    });
  });
}

describe("docker-compose.yml", () => {
  it("has two chat instances, each beside its own PostgreSQL", () => {
    expect(chatNames).toHaveLength(2);
    expect(databaseNames).toHaveLength(2);
    const npmStart = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } })
      .scripts.start;
    for (const name of chatNames) {
      expect(service(name).command, `${name} runs the Node entry as npm start does`).toEqual(
        expect.arrayContaining([expect.stringContaining(`exec ${npmStart}\n`)]),
      );
    }
  });

  it("points each instance at its own database, with that database's credentials", () => {
    const used = new Set<string>();
    for (const name of chatNames) {
      const url = new URL(environment(name).DATABASE_URL ?? "");
      expect(url.protocol, name).toMatch(/^postgres(ql)?:$/);
      expect(databaseNames, `${name}'s DATABASE_URL host`).toContain(url.hostname);
      expect(used.has(url.hostname), `${url.hostname} is shared`).toBe(false);
      used.add(url.hostname);

      const db = environment(url.hostname);
      const user = db.POSTGRES_USER ?? "postgres";
      expect(decodeURIComponent(url.username), name).toBe(user);
      expect(decodeURIComponent(url.password), name).toBe(db.POSTGRES_PASSWORD);
      expect(url.pathname.slice(1) || user, name).toBe(db.POSTGRES_DB ?? user);
      expect(Number(url.port || 5432), name).toBe(5432);
    }
  });

  it("starts each instance only once its database is healthy", () => {
    for (const name of chatNames) {
      const db = new URL(environment(name).DATABASE_URL ?? "").hostname;
      expect(dependsOn(name)[db]?.condition, `${name} depends on ${db}`).toBe("service_healthy");
    }
  });

  it("has a health check on every service", () => {
    for (const name of serviceNames) {
      const check = service(name).healthcheck;
      expect(check?.test, name).toBeDefined();
      expect(check?.disable ?? false, name).toBe(false);
      expect([check?.test].flat()[0], name).not.toBe("NONE");
    }
  });

  it("reports a chat instance healthy exactly when its /readyz answers 200", async () => {
    let ready = true;
    const requested: string[] = [];
    const server = createServer((req, res) => {
      requested.push(req.url ?? "");
      res.statusCode = req.url === "/readyz" && ready ? 200 : 503;
      res.end();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as AddressInfo;
    try {
      for (const name of chatNames) {
        const test = [service(name).healthcheck?.test ?? []].flat();
        // Inside the container the server listens on PORT; here a stand-in does, on another port.
        const env = { ...environment(name), PORT: String(port) };
        const usesPortVariable = test.some((arg) => arg.includes("process.env.PORT"));
        if (!usesPortVariable) {
          expect(test.join(" "), `${name}'s health check probes its own port`).toContain(`:${listenPort(name)}/`);
          continue;
        }
        ready = true;
        expect(await runHealthcheck(test, env), `${name} healthy`).toBe(0);
        ready = false;
        expect(await runHealthcheck(test, env), `${name} not ready`).not.toBe(0);
      }
      expect(new Set(requested)).toEqual(new Set(["/readyz"]));
    } finally {
      server.close();
    }
  });

  it("gives each instance its own origin, reachable by the other under the service's name", () => {
    const origins = new Set(chatNames.map((name) => new URL(environment(name).ORIGIN ?? "").origin));
    expect(origins.size, "distinct origins").toBe(chatNames.length);
    for (const name of chatNames) {
      const origin = new URL(environment(name).ORIGIN ?? "");
      expect(origin.protocol, name).toMatch(/^https?:$/);
      expect(serviceNames, `${name}'s ORIGIN host`).toContain(origin.hostname);
      expect(origin.hostname, `${name}'s ORIGIN names the service itself`).toBe(name);
      const originPort = Number(origin.port || (origin.protocol === "https:" ? 443 : 80));
      expect(originPort, `${name} listens on its ORIGIN's port`).toBe(listenPort(name));
    }
  });

  it("lets federation reach the other instance's private address", () => {
    for (const name of chatNames) {
      // The same spellings config.ts accepts as true.
      expect(["true", "1", "yes", "on"], name).toContain(environment(name).FEDERATION_ALLOW_PRIVATE_ADDRESS);
    }
  });

  it("sets only variables the server knows", () => {
    const configSource = readFileSync(join(root, "src/config.ts"), "utf8");
    for (const name of chatNames) {
      for (const variable of Object.keys(environment(name))) {
        expect(configSource.includes(`${variable}:`), `${name} sets ${variable}, unknown to src/config.ts`).toBe(true);
      }
    }
  });

  it("leaves nothing for Compose to interpolate", () => {
    // A lone `$` would be replaced by Compose, so what this test reads would not be what runs.
    for (const value of strings(compose)) expect(value.replaceAll("$$", "")).not.toContain("$");
  });

  it("declares every named volume, and keeps each instance's state apart", () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const name of serviceNames) {
      for (const mount of mounts(name).filter((m) => m.kind === "volume")) {
        expect(declared, `${name} uses volume ${mount.source}`).toContain(mount.source);
      }
    }
    const stateVolume = (name: string, path: string) =>
      mounts(name).find((m) => m.kind === "volume" && (m.target === path || path.startsWith(`${m.target}/`)))?.source;
    const dataVolumes = chatNames.map((name) => stateVolume(name, environment(name).DATA_DIR ?? "/app/data"));
    const dbVolumes = databaseNames.map((name) =>
      stateVolume(name, environment(name).PGDATA ?? "/var/lib/postgresql/data"),
    );
    for (const volume of [...dataVolumes, ...dbVolumes]) expect(volume).toBeDefined();
    expect(new Set([...dataVolumes, ...dbVolumes]).size).toBe(4);
  });

  it("mounts what the entry point needs from the working tree, read-only", () => {
    for (const name of chatNames) {
      const workdir = service(name).working_dir ?? "/";
      const binds = mounts(name).filter((m) => m.kind === "bind");
      for (const bind of binds) {
        expect(existsSync(resolve(root, bind.source)), `${name} mounts ${bind.source}`).toBe(true);
        expect(bind.readOnly, `${name} mounts ${bind.source} read-only`).toBe(true);
      }
      const visible = (path: string) =>
        binds.some((b) => {
          const inside = posix.relative(b.target, posix.join(workdir, path));
          return !inside.startsWith("..") && existsSync(join(resolve(root, b.source), inside));
        });
      for (const path of ["package.json", "package-lock.json", "federation/main.ts", "src/config.ts", "migrations"]) {
        expect(visible(path), `${name} sees ${path}`).toBe(true);
      }
      const modules = mounts(name).find((m) => m.target === posix.join(workdir, "node_modules"));
      expect(modules?.kind, `${name} keeps node_modules in a volume of its own`).toBe("volume");
    }
    const moduleVolumes = chatNames.map((name) => mounts(name).find((m) => m.target.endsWith("/node_modules"))?.source);
    expect(new Set(moduleVolumes).size, "instances install side by side, not into one folder").toBe(2);
  });

  it("publishes each instance on its own host port", () => {
    const all = serviceNames.flatMap((name) => publishedPorts(name).map((p) => p.published));
    expect(new Set(all).size).toBe(all.length);
    for (const name of chatNames) {
      const ports = publishedPorts(name);
      expect(ports.length, `${name} is published`).toBeGreaterThan(0);
      for (const port of ports) expect(port.target, `${name} publishes the port it listens on`).toBe(listenPort(name));
    }
  });

  it("restarts instances and lets them shut down cleanly before killing them", () => {
    for (const name of serviceNames) expect(["always", "unless-stopped"], name).toContain(service(name).restart);
    for (const name of chatNames) {
      const grace = durationMs(service(name).stop_grace_period ?? "10s");
      const timeout = Number(environment(name).SHUTDOWN_TIMEOUT_MS ?? 10_000);
      expect(grace, `${name}'s stop_grace_period`).toBeGreaterThan(timeout);
    }
  });
});
