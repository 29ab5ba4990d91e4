/**
 * The JSON API as the fuzz suite sees it: every operation of the OpenAPI document the server
 * serves (never a list of our own, so a new endpoint is fuzzed the day it is declared), with
 * validators rebuilt from the document's schemas to tell a bad input from a good one.
 */
import fc from "fast-check";
import { z } from "zod";

/** A path or query parameter. */
export interface Parameter {
  readonly name: string;
  readonly in: "path" | "query";
  readonly required: boolean;
  /** Accepts what the server's schema accepts, as far as the document says. */
  readonly accepts: (value: string) => boolean;
}

/** One operation of the document. */
export interface Endpoint {
  readonly method: string;
  /** The OpenAPI path, with `{name}` parameters. */
  readonly path: string;
  readonly auth: boolean;
  readonly pathParams: readonly Parameter[];
  readonly queryParams: readonly Parameter[];
  /** A JSON body: its schema's property names, enum values, and a validator. */
  readonly json?: {
    readonly keys: readonly string[];
    readonly enums: readonly string[];
    readonly accepts: (value: unknown) => boolean;
  };
  /** A multipart body: the names of its required fields. */
  readonly multipart?: { readonly fields: readonly string[] };
}

interface OpenApiOperation {
  security?: unknown[];
  parameters?: { name: string; in: "path" | "query"; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
}

function validator(schema: Record<string, unknown>): (value: unknown) => boolean {
  const zod = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  return (value) => zod.safeParse(value).success;
}

/** Every string of every `enum` in a schema: values a near-valid body should try. */
function enumValues(schema: unknown): string[] {
  const out = new Set<string>();
  const stack = [schema];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node == null || typeof node !== "object") continue;
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.enum)) for (const v of record.enum) if (typeof v === "string") out.add(v);
    for (const inner of Object.values(record)) stack.push(inner);
  }
  return [...out];
}

/**
 * A query or path parameter's validator: query values arrive as text, and the server coerces
 * numbers (`z.coerce.number()`), so a numeric schema is checked on the number the text reads as.
 */
function parameterValidator(schema: Record<string, unknown>): (value: string) => boolean {
  const accepts = validator(schema);
  const numeric = schema.type === "integer" || schema.type === "number";
  return (value) => accepts(numeric ? Number(value) : value);
}

/** The operations of an OpenAPI 3.1 document. */
export function endpointsOf(document: { paths: Record<string, Record<string, OpenApiOperation>> }): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const params = (operation.parameters ?? []).map((p) => ({
        name: p.name,
        in: p.in,
        required: p.required ?? false,
        accepts: parameterValidator(p.schema),
      }));
      const content = operation.requestBody?.content ?? {};
      const jsonSchema = content["application/json"]?.schema;
      const endpoint: Endpoint = {
        method: method.toUpperCase(),
        path,
        auth: (operation.security ?? []).length > 0,
        pathParams: params.filter((p) => p.in === "path"),
        queryParams: params.filter((p) => p.in === "query"),
        json: jsonSchema
          ? {
              keys: Object.keys((jsonSchema.properties as Record<string, unknown> | undefined) ?? {}),
              enums: enumValues(jsonSchema),
              accepts: validator(jsonSchema),
            }
          : undefined,
        multipart: content["multipart/form-data"]
          ? { fields: (content["multipart/form-data"].schema.required as string[] | undefined) ?? [] }
          : undefined,
      };
      // A failure report names the endpoint, not its validators.
      endpoints.push(Object.assign(endpoint, { [fc.toStringMethod]: () => `${endpoint.method} ${path}` }));
    }
  }
  return endpoints;
}

/** The path with each `{name}` replaced by its (already encoded) value. */
export function fillPath(path: string, values: Readonly<Record<string, string>>): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, name: string) => values[name] ?? "");
}

/**
 * Whether a parsed JSON value holds a string PostgreSQL cannot store or that is not text (NUL,
 * a lone surrogate), as a value or as a key, at any depth: the API refuses such input whole.
 */
export function holdsBadText(value: unknown): boolean {
  const bad = (s: string) => s.includes("\u0000") || !s.isWellFormed();
  const stack = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === "string") {
      if (bad(node)) return true;
    } else if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
    } else if (node != null && typeof node === "object") {
      for (const [key, inner] of Object.entries(node)) {
        if (bad(key)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}
