import { rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { Peer } from "../helpers/peer.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { eventually, ok, register, type User } from "../helpers/stream.ts";

// The federation side of /metrics on a real server process: inbox activities counted by type
// and outcome, deliveries by outcome, and the delivery streams read at scrape time; and the
// spans of the same work, sent to a loopback OpenTelemetry collector (OTLP over HTTP, JSON).

const token = "metrics-token-for-the-federation-test";

/** The sum of a metric's samples whose labels include every `key="value"` given. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

describe("metrics and traces of federation", () => {
  let collector: Server;
  const spans: string[] = [];
  let dir: string;
  let server: ServerProcess;
  let alice: User;
  let peer: Peer;

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans.map((x) => x.name));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    dir = preparedDataDir("fedchat-metrics-");
    server = await startServer({
      DATA_DIR: dir,
      METRICS_TOKEN: token,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
    });
    alice = await register(server, "alice");
    peer = await Peer.start();
  }, 60_000);

  afterAll(async () => {
    await peer?.close();
    if (server) await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return await res.text();
  };

  it("counts the inbox's activities and the deliveries of 10 messages", async () => {
    onTestFailed(() => console.error(server?.output().slice(-6000)));
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const room = await ok<{ id: string; url: string }>(201, server, alice.token, "POST", "/api/v1/rooms", {
      name: "Metered",
      visibility: "public",
    });
    const actor = await peer.actor("watcher");
    const follow = { "@context": "https://www.w3.org/ns/activitystreams", type: "Follow", actor: actor.id };
    const sent = await peer.send(actor, `${room.url}/inbox`, { ...follow, id: `${actor.id}#follow`, object: room.url });
    expect(sent.status).toBe(202);
    await peer.receive("the Accept", (a) => a.type === "Accept");
    const before = await scrape();
    expect(total(before, "fedchat_inbox_activities_total", { type: "Follow", outcome: "ok" })).toBe(1);
    const inboxPosts = { method: "POST", route: "(inbox)", status: "2xx" };
    expect(total(before, "fedchat_http_request_duration_seconds_count", inboxPosts)).toBe(1);

    for (let i = 0; i < 10; i++) {
      await ok(201, server, alice.token, "PUT", `/api/v1/rooms/${room.id}/messages/m${i}`, { content: `n${i}` });
    }
    const after = await eventually("10 more deliveries counted", async () => {
      const text = await scrape();
      const delivered = total(text, "fedchat_deliveries_total", { outcome: "ok" });
      return delivered - total(before, "fedchat_deliveries_total", { outcome: "ok" }) >= 10 ? text : undefined;
    });
    expect(total(after, "fedchat_delivery_duration_seconds_count")).toBeGreaterThanOrEqual(10);
    expect(total(after, "fedchat_delivery_streams", { state: "all" })).toBeGreaterThanOrEqual(1);
    expect(
      total(after, "fedchat_stream_events_total") - total(before, "fedchat_stream_events_total"),
    ).toBeGreaterThanOrEqual(10);
  });

  it("sent the spans of the inbox and of each delivery by the time it stopped", async () => {
    await stopServer(server); // flushes the last batch
    expect(spans).toContain("activitypub.inbox");
    expect(spans.filter((name) => name === "fedchat.deliver").length).toBeGreaterThanOrEqual(10);
  });
});
