import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestInstance } from "../helpers/instance.ts";

// Fedify's spans reach an OpenTelemetry collector (OTLP over HTTP, JSON) when
// OTEL_EXPORTER_OTLP_ENDPOINT is set; here the collector is a loopback server that keeps what
// it is sent.

interface ExportRequest {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string }[] }[];
  }[];
}

describe("traces", () => {
  let collector: Server;
  let endpoint: string;
  const received: { path: string; body: ExportRequest }[] = [];

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => collector.close(() => resolve())));

  it("sends Fedify's spans to the collector, named for the service", async () => {
    const t = await createTestInstance({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "fedchat-test" });
    try {
      expect((await t.request("/.well-known/nodeinfo")).status).toBe(200);
      expect((await t.request("/nodeinfo/2.1")).status).toBe(200);
    } finally {
      await t.dispose(); // flushes the batch
    }
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((r) => r.path === "/v1/traces")).toBe(true);
    const resources = received.flatMap((r) => r.body.resourceSpans);
    const names = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)));
    expect(names.length).toBeGreaterThan(0);
    expect(
      names.some((name) => /nodeinfo/i.test(name)),
      names.join(", "),
    ).toBe(true);
    const service = resources[0]?.resource.attributes.find((a) => a.key === "service.name");
    expect(service?.value.stringValue).toBe("fedchat-test");
  });

  it("sends nothing without the variable", async () => {
    const before = received.length;
    const t = await createTestInstance();
    expect((await t.request("/.well-known/nodeinfo")).status).toBe(200);
    await t.dispose();
    expect(received.length).toBe(before);
  });
});
