import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Config } from "../src/config.ts";
import { software } from "../src/version.ts";

/**
 * The tracer provider handed to Fedify when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: Fedify's own
 * spans (requests it answers, inbox handling, signatures, sends) go in batches to the
 * collector's `/v1/traces`, as OTLP over HTTP with JSON. Without the variable there is none,
 * and Fedify's spans go to the global provider, a no-op unless something registered one.
 * @returns The provider, or undefined when tracing is off.
 */
export function createTracerProvider(config: Config): BasicTracerProvider | undefined {
  if (config.otlpEndpoint == null) return undefined;
  const url = `${config.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
  return new BasicTracerProvider({
    resource: resourceFromAttributes({
      "service.name": config.otelServiceName,
      "service.version": software.version,
      "service.instance.id": `${new URL(config.origin).host}/${process.pid}`,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
}
