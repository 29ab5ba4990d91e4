import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, settingNames } from "../../src/config.ts";

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("gives a working configuration with no variables set", () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.origin).toBe("http://localhost:3000");
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toMatch(/\/data$/);
    expect(config.logLevel).toBe("info");
    expect(config.allowPrivateAddress).toBe(false);
    expect(config.instanceName).toBe("localhost");
    expect(config.databaseConnectTimeoutMs).toBe(2000);
  });

  it("reads every documented variable", () => {
    const config = loadConfig({
      PORT: "8080",
      ORIGIN: "https://chat.example:8443/",
      DATABASE_URL: "postgres://u:p@db.example:5432/chat",
      DATA_DIR: "/var/lib/chat",
      LOG_LEVEL: "debug",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_WORKERS: "0",
      INSTANCE_NAME: "Example chat",
      DATABASE_CONNECT_TIMEOUT_MS: "5000",
    });
    expect(config).toMatchObject({
      port: 8080,
      origin: "https://chat.example:8443",
      databaseUrl: "postgres://u:p@db.example:5432/chat",
      dataDir: "/var/lib/chat",
      logLevel: "debug",
      allowPrivateAddress: true,
      queueWorkers: 0,
      instanceName: "Example chat",
      databaseConnectTimeoutMs: 5000,
    });
  });

  it("has every variable it reads in the README's table", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const documented = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]));
    expect(settingNames.filter((name) => !documented.has(name))).toEqual([]);
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(loadConfig({ DATABASE_URL: "" }).databaseUrl).toBeUndefined();
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["ORIGIN", "chat.example"],
    ["ORIGIN", "ftp://chat.example"],
    ["ORIGIN", "https://chat.example/some/path"],
    ["ORIGIN", "https://user:secret@chat.example"],
    ["DATABASE_URL", "mysql://localhost/db"],
    ["DATABASE_URL", "not a url"],
    ["LOG_LEVEL", "verbose"],
    ["FEDERATION_ALLOW_PRIVATE_ADDRESS", "maybe"],
    ["QUEUE_WORKERS", "-2"],
    ["BODY_LIMIT", "0"],
    ["DATABASE_CONNECT_TIMEOUT_MS", "0"],
  ])("refuses %s=%s and names the variable", (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
  });

  it("reports every wrong variable at once", () => {
    const problems = problemsOf({ PORT: "x", LOG_LEVEL: "loud" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["LOG_LEVEL", "PORT"]);
  });
});
