// Login cost: argon2id hash and verify time, logins per second through the HTTP app (all of
// hash check, session row, refresh token and access token), and the median answer time for an
// unknown user versus a wrong password (they must not differ enough to tell accounts apart).
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInstance, type Instance } from "../../federation/instance.ts";
import { hashPassword, verifyPassword } from "../../src/accounts/passwords.ts";
import { loadConfig } from "../../src/config.ts";
import { type DatabaseHandle, openDatabase } from "../../src/db/client.ts";
import { benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

async function hashing() {
  const times: number[] = [];
  let phc = "";
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    phc = await hashPassword(`password-${i}`);
    times.push(performance.now() - t);
  }
  report("login: argon2id hash (m=19 MiB, t=2, p=1), median", percentile(times, 50), "ms");
  const verifies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await verifyPassword(phc, "password-19");
    verifies.push(performance.now() - t);
  }
  report("login: argon2id verify, median", percentile(verifies, 50), "ms");
}

const post = (instance: Instance, path: string, body: unknown) =>
  instance.app.request(
    new URL(path, instance.config.origin),
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
    { clientAddress: "198.51.100.1" },
  );

async function throughput(label: string, database: DatabaseHandle) {
  const dataDir = mkdtempSync(join(tmpdir(), "fedchat-bench-login-"));
  const config = loadConfig({
    ORIGIN: "https://bench.example",
    QUEUE_WORKERS: "0",
    DATA_DIR: dataDir,
    RATE_LIMIT_FACTOR: "100000",
  });
  const instance = await createInstance(config, {
    database,
    secrets: { jwtPrivateKey: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) },
  });
  try {
    const users = Array.from({ length: 8 }, (_, i) => `bench_${i}`);
    for (const username of users) {
      const res = await post(instance, "/api/v1/auth/register", { username, password: "bench password" });
      if (res.status !== 201) throw new Error(`register failed: ${res.status}`);
    }
    const total = 200;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (next < total) {
          next++;
          const res = await post(instance, "/api/v1/auth/login", {
            username: users[worker],
            password: "bench password",
            refreshTokenIn: "body",
          });
          if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
        }
      }),
    );
    report(
      `login ${label}: logins per second, 8 concurrent`,
      total / ((performance.now() - started) / 1000),
      "login/s",
    );

    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 60; i++) {
      for (const [list, username] of [
        [unknown, `nobody_${i % users.length}`],
        [wrong, users[i % users.length]],
      ] as const) {
        const t = performance.now();
        const res = await post(instance, "/api/v1/auth/login", { username, password: "not the password" });
        list.push(performance.now() - t);
        if (res.status !== 401) throw new Error(`expected 401, got ${res.status}`);
      }
    }
    const u = percentile(unknown, 50);
    const w = percentile(wrong, 50);
    report(`login ${label}: unknown user, median answer`, u, "ms");
    report(`login ${label}: wrong password, median answer`, w, "ms");
    report(`login ${label}: difference of the medians`, (Math.abs(u - w) / Math.max(u, w)) * 100, "%");
  } finally {
    await instance.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function loginBenchmark(): Promise<void> {
  await hashing();
  const memory = await openDatabase({ memory: true });
  await throughput("pglite", memory);
  await memory.close();
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("login postgres: no PostgreSQL reachable (set BENCH_DATABASE_URL)\n");
    return;
  }
  const scratch = await scratchDatabase(admin);
  const pg = await openDatabase({ url: scratch.url, poolSize: 10 });
  try {
    await throughput("postgres", pg);
  } finally {
    await pg.close();
    await scratch.drop();
  }
}
