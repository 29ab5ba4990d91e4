import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";
import { openStream, registerUser } from "./support.ts";

const token = "metrics-token-for-the-tests-0123456789";

/** The exposition text as samples: name, labels and value per line. */
function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match == null) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
}

/** The sum of the samples of a metric whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  return parse(text)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe("/metrics without METRICS_TOKEN", () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await createTestInstance();
  });
  afterAll(async () => t.dispose());

  it("is not served at all", async () => {
    const res = await t.request("/metrics");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("not_found");
    expect((await t.request("/metrics", { headers: bearer(token) })).status).toBe(404);
  });
});

describe("/metrics with METRICS_TOKEN", () => {
  let t: TestInstance;
  beforeAll(async () => {
    t = await createTestInstance({ METRICS_TOKEN: token, RATE_LIMIT_FACTOR: "1000" });
  });
  afterAll(async () => t.dispose());

  const scrape = async () => {
    const res = await t.request("/metrics", { headers: bearer(token) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    return await res.text();
  };

  it("asks for the token, and refuses a wrong one", async () => {
    for (const headers of [{}, bearer("wrong"), bearer(`${token}x`), { authorization: token }]) {
      const res = await t.request("/metrics", { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("unauthenticated");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });

  it("counts requests by route, stream connections and events after 10 messages", async () => {
    const alice = await registerUser(t, "alice");
    const headers = bearer(alice.accessToken);
    const created = await t.request("/api/v1/rooms", json("POST", { name: "Metered", visibility: "public" }, headers));
    const roomId = ((await created.json()) as { id: string }).id;
    const stream = await openStream(t, headers);
    await stream.take(1); // ready

    const before = await scrape();
    const sendRoute = { method: "PUT", route: "/api/v1/rooms/:roomId/messages/:txnId", status: "2xx" };
    for (let i = 0; i < 10; i++) {
      const res = await t.request(`/api/v1/rooms/${roomId}/messages/m${i}`, json("PUT", { content: `n${i}` }, headers));
      expect(res.status).toBe(201);
    }
    await stream.take(10); // every message reached the hub, so it has counted their events
    const after = await scrape();
    await stream.close();

    const count = "fedchat_http_request_duration_seconds_count";
    expect(total(after, count, sendRoute) - total(before, count, sendRoute)).toBeGreaterThanOrEqual(10);
    expect(
      total(after, "fedchat_stream_events_total") - total(before, "fedchat_stream_events_total"),
    ).toBeGreaterThanOrEqual(10);
    expect(total(after, "fedchat_stream_connections")).toBe(1);
    expect(total(after, "fedchat_stream_connections_opened_total", { transport: "sse" })).toBe(1);
    // The raw path never becomes a label: the room's id appears nowhere.
    expect(after).not.toContain(roomId);
    // The scrape-time gauges answer, and the process metrics are there.
    for (const name of ["fedchat_delivery_behind", "fedchat_database_pool_size", "process_cpu_user_seconds_total"]) {
      expect(parse(after).some((s) => s.name === name)).toBe(true);
    }
    expect(total(after, "fedchat_federation_queue_messages", { state: "ready" })).toBeGreaterThanOrEqual(0);
    // On PostgreSQL the pool's connections show, the scraping one among them (active).
    if (t.database.driver === "postgres") {
      expect(total(after, "fedchat_database_connections", { state: "active" })).toBeGreaterThanOrEqual(1);
    } else {
      expect(total(after, "fedchat_database_connections")).toBe(0);
    }
  });

  it("labels what no route answered as /*", async () => {
    const before = total(await scrape(), "fedchat_http_request_duration_seconds_count", { route: "/*", status: "4xx" });
    for (let i = 0; i < 3; i++) expect((await t.request(`/nothing/${i}`)).status).toBe(404);
    const after = await scrape();
    expect(
      total(after, "fedchat_http_request_duration_seconds_count", { route: "/*", status: "4xx" }) - before,
    ).toBeGreaterThanOrEqual(3);
    expect(after).not.toContain("/nothing/");
  });

  it("labels what Fedify answered as (federation)", async () => {
    const count = "fedchat_http_request_duration_seconds_count";
    const before = total(await scrape(), count, { route: "(federation)" });
    expect((await t.request("/.well-known/nodeinfo")).status).toBe(200);
    expect((await t.request("/.well-known/webfinger?resource=acct:alice@chat.example")).status).toBe(200);
    expect(total(await scrape(), count, { route: "(federation)" }) - before).toBe(2);
  });

  it("has every fedchat metric that the Grafana dashboard draws", async () => {
    const dashboard = readFileSync(new URL("../../examples/grafana/fedchat.json", import.meta.url), "utf8");
    const drawn = new Set([...dashboard.matchAll(/\b(fedchat_\w+?)(?:_bucket|_count|_sum)?\{/g)].map((m) => m[1]));
    expect(drawn.size).toBeGreaterThan(10);
    const text = await scrape();
    for (const name of drawn) expect(text, name).toContain(`# TYPE ${name} `);
  });
});
