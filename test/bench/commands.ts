// Slash commands and pushed events, in process on PGlite with a bot on a loopback port: how
// long an invocation takes to answer (the bot's signed call, its answer posted as a message or
// sent as an ephemeral event), and how long a message takes to reach a bot's URL by push
// (bounded below by the pusher's one-second round).
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInstance, type Instance } from "../../federation/instance.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/client.ts";
import { startBotReceiver } from "../helpers/bot-receiver.ts";
import { percentile, report } from "./support.ts";

async function call(instance: Instance, method: string, path: string, token: string, body?: unknown) {
  const res = await instance.app.request(
    new URL(`/api/v1${path}`, instance.config.origin),
    {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    { clientAddress: "198.51.100.1" },
  );
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function commandsBenchmark(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "fedchat-bench-commands-"));
  const database = await openDatabase({ memory: true });
  const config = loadConfig({
    ORIGIN: "https://bench.example",
    QUEUE_WORKERS: "0",
    DATA_DIR: dataDir,
    RATE_LIMIT_FACTOR: "100000",
    BOT_HOOKS_ALLOW_LOOPBACK: "true",
  });
  const instance = await createInstance(config, {
    database,
    secrets: { jwtPrivateKey: generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) },
  });
  const receiver = await startBotReceiver();
  try {
    const registered = await instance.app.request(
      new URL("/api/v1/auth/register", config.origin),
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "bench_owner", password: "bench password", refreshTokenIn: "body" }),
      },
      { clientAddress: "198.51.100.1" },
    );
    const owner = ((await registered.json()) as { accessToken: string }).accessToken;
    const bot = (await call(instance, "POST", "/bots", owner, { username: "bench_bot" })) as { id: string };
    const token = (await call(instance, "POST", "/tokens", owner, { name: "b", botId: bot.id, scopes: ["write"] }))
      .secret as string;
    const room = (await call(instance, "POST", "/rooms", owner, { name: "bench", visibility: "public" })) as {
      id: string;
    };
    await call(instance, "POST", `/rooms/${room.id}/join`, token);
    await call(instance, "PUT", "/commands", token, {
      commands: [{ name: "echo", description: "Echo", arguments: [{ name: "text" }] }],
    });
    const hook = await call(instance, "PUT", "/bot-hook", token, { url: receiver.url, events: ["message.created"] });
    receiver.secret = hook.secret as string;

    for (const ephemeral of [false, true]) {
      receiver.answer = (c) => ({ status: 200, body: JSON.stringify({ content: `echo ${c.json.text}`, ephemeral }) });
      const times: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await call(instance, "POST", `/rooms/${room.id}/interactions`, owner, { command: "echo", text: `n${i}` });
        times.push(performance.now() - t);
      }
      const what = ephemeral ? "ephemeral answer" : "answer posted as the bot";
      report(`commands pglite: invoke to ${what}, median of 100`, percentile(times, 50), "ms");
      report(`commands pglite: invoke to ${what}, p95`, percentile(times, 95), "ms");
    }

    receiver.answer = () => ({ status: 204 });
    const pushes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = receiver.calls.length;
      const t = performance.now();
      await call(instance, "PUT", `/rooms/${room.id}/messages/push${i}`, owner, { content: `push ${i}` });
      while (!receiver.calls.slice(before).some((c) => c.body.includes(`"push ${i}"`))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      pushes.push(performance.now() - t);
    }
    report("commands pglite: message sent to its push received, median of 20", percentile(pushes, 50), "ms");
    report("commands pglite: message sent to its push received, max", Math.max(...pushes), "ms");
  } finally {
    await receiver.close();
    await instance.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
