import { DrizzleQueryError } from "drizzle-orm/errors";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadConfig } from "../../../src/config.ts";
import { AppError } from "../../../src/errors.ts";
import { createApp, type Readiness } from "../../../src/http/app.ts";
import { appDeps } from "../../helpers/app-deps.ts";

const config = loadConfig({ ORIGIN: "https://chat.example", BODY_LIMIT: "1024" });

function app(readiness: Readiness = { ready: true, checks: { database: "ok" } }) {
  // No database or tokens: these routes touch neither.
  const deps = appDeps(config);
  return createApp(deps, {
    readiness: async () => readiness,
    routes: (a, api) => {
      api.route(
        a,
        {
          method: "post",
          path: "/api/v1/echo",
          tag: "test",
          summary: "Echo",
          body: z.object({ name: z.string().min(1).max(5) }),
          responses: { 200: { description: "ok" } },
        },
        (c, { body }) => c.json({ hello: body.name }),
      );
      api.route(
        a,
        {
          method: "post",
          path: "/api/v1/anything",
          tag: "test",
          summary: "Takes any JSON under extra, up to 2 MB",
          body: z.object({ name: z.string(), extra: z.unknown() }),
          bodyLimit: 2 * 1024 * 1024,
          responses: { 200: { description: "ok" } },
        },
        (c, { body }) => c.json({ hello: body.name }),
      );
      api.route(
        a,
        {
          method: "post",
          path: "/api/v1/optional",
          tag: "test",
          summary: "All fields optional",
          body: z.object({ note: z.string().optional() }),
          responses: { 200: { description: "ok" } },
        },
        (c, { body }) => c.json({ note: body.note ?? null }),
      );
      a.get("/api/v1/echo", (c) => c.json({ ok: true }));
      a.get("/api/v1/forbidden", () => {
        throw new AppError("forbidden", "You may not.", { headers: { "Retry-After": "9" } });
      });
      a.get("/api/v1/crash", () => {
        throw new Error("secret connection string postgres://admin:hunter2@db");
      });
      // As drizzle reports a query on a pool whose server is gone: the driver's error as cause.
      a.get("/api/v1/database-down", () => {
        const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:5432"), { code: "ECONNREFUSED" });
        throw new DrizzleQueryError("select secret from sessions where token = $1", ["hunter2"], refused);
      });
      a.get("/api/v1/statement-failed", () => {
        const duplicate = Object.assign(new Error("duplicate key"), { name: "PostgresError", code: "23505" });
        throw new DrizzleQueryError("insert into users …", [], duplicate);
      });
    },
  });
}

async function problem(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  return (await response.json()) as Record<string, unknown>;
}

describe("the HTTP app", () => {
  it("answers /healthz", async () => {
    const res = await app().request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 when ready and a 503 problem when not", async () => {
    const ready = await app().request("/readyz");
    expect(ready.status).toBe(200);
    const notReady = await app({ ready: false, checks: { database: "unreachable" } }).request("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get("retry-after")).toBe("5");
    expect(await problem(notReady)).toMatchObject({ code: "not_ready", details: { database: "unreachable" } });
  });

  it("gives an unknown path a not_found problem document with the request id", async () => {
    const res = await app().request("/no/such/thing");
    expect(res.status).toBe(404);
    const body = await problem(res);
    expect(body).toMatchObject({
      type: "https://chat.example/problems/not_found",
      status: 404,
      code: "not_found",
      title: "Nothing is at this address",
    });
    expect(body.requestId).toBe(res.headers.get("x-request-id"));
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers a wrong method with method_not_allowed and an Allow header", async () => {
    const res = await app().request("/healthz", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await problem(res)).toMatchObject({ code: "method_not_allowed" });
    const put = await app().request("/api/v1/echo", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "HEAD", "POST"]);
  });

  it("answers malformed JSON with malformed_json", async () => {
    const res = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name": "x"',
    });
    expect(res.status).toBe(400);
    expect(await problem(res)).toMatchObject({ code: "malformed_json" });
  });

  it("answers a body that is not JSON with unsupported_media_type", async () => {
    const res = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "name=x",
    });
    expect(res.status).toBe(415);
    expect(await problem(res)).toMatchObject({ code: "unsupported_media_type" });
  });

  it("lists every invalid field under validation_failed", async () => {
    const res = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "far too long" }),
    });
    expect(res.status).toBe(422);
    const body = await problem(res);
    expect(body.code).toBe("validation_failed");
    expect(body.details).toEqual([{ path: "name", in: "fields", message: expect.any(String) }]);
    const ok = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body: JSON.stringify({ name: "ann" }),
    });
    expect(await ok.json()).toEqual({ hello: "ann" });
  });

  it("refuses text PostgreSQL cannot store: a NUL anywhere, or an unpaired surrogate", async () => {
    for (const body of ['{"name":"a\\u0000b"}', '{"name":"\\ud800"}', '{"name":"ok","extra":["\\u0000"]}']) {
      const res = await app().request("/api/v1/echo", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status, body).toBe(422);
      expect(await problem(res)).toMatchObject({ code: "validation_failed" });
    }
  });

  it("answers JSON nested thousands of levels deep with bad_request, not a stack overflow", async () => {
    // 5,000 levels in 10 KB: a recursive walk of the body ran out of stack (a 500).
    for (const [open, close] of [
      ["[", "]"],
      ['{"a":', "}"],
    ] as const) {
      const body = `{"name":"ann","extra":${open.repeat(5000)}1${close.repeat(5000)}}`;
      const res = await app().request("/api/v1/anything", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status, open).toBe(400);
      expect(await problem(res)).toMatchObject({ code: "bad_request" });
    }
    // A shallow array of half a million items is no deeper than one: it is the schema's to judge.
    const wide = await app().request("/api/v1/anything", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"name":"ann","extra":[${"0,".repeat(500_000)}0]}`,
    });
    expect(wide.status).toBe(200);
  });

  it("reads a request without a body as {} for endpoints whose fields are optional", async () => {
    const res = await app().request("/api/v1/optional", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ note: null });
    const required = await app().request("/api/v1/echo", { method: "POST" });
    expect(required.status).toBe(422);
  });

  it("refuses a body over the limit with payload_too_large, declared or streamed", async () => {
    const big = "x".repeat(2048);
    const declared = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(big.length) },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(await problem(declared)).toMatchObject({ code: "payload_too_large" });
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await app().request("/api/v1/echo", {
      method: "POST",
      headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it("passes an AppError's code, message and headers to the client", async () => {
    const res = await app().request("/api/v1/forbidden");
    expect(res.status).toBe(403);
    expect(res.headers.get("retry-after")).toBe("9");
    expect(await problem(res)).toMatchObject({ code: "forbidden", detail: "You may not." });
  });

  it("turns any other error into internal without leaking its message", async () => {
    const res = await app().request("/api/v1/crash");
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("postgres://");
    expect(await problem(res)).toMatchObject({ code: "internal" });
  });

  it("answers 503 database_unavailable with Retry-After when the database cannot be reached", async () => {
    const res = await app().request("/api/v1/database-down");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    const text = await res.clone().text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("10.0.0.5");
    expect(await problem(res)).toMatchObject({ code: "database_unavailable", status: 503 });
    // A statement that failed on a working database is still a bug of ours.
    const failed = await app().request("/api/v1/statement-failed");
    expect(failed.status).toBe(500);
    expect(await problem(failed)).toMatchObject({ code: "internal" });
  });

  it("sets security headers on every response", async () => {
    const res = await app().request("/healthz");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=/);
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
  });

  it("keeps a sane request id from the caller and replaces an unsafe one", async () => {
    const kept = await app().request("/healthz", { headers: { "x-request-id": "abc-123" } });
    expect(kept.headers.get("x-request-id")).toBe("abc-123");
    const replaced = await app().request("/healthz", { headers: { "x-request-id": "<script>" } });
    expect(replaced.headers.get("x-request-id")).not.toBe("<script>");
  });

  it("describes each problem type at its type URI", async () => {
    const res = await app().request("/problems/not_a_member");
    expect(await res.json()).toEqual({ code: "not_a_member", status: 403, title: "Not a member of this room" });
    const unknown = await app().request("/problems/nope");
    expect(unknown.status).toBe(404);
  });
});
