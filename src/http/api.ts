import type { Context, Hono, MiddlewareHandler } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { z } from "zod";
import { AppError, type ErrorCode, errorCodes } from "../errors.ts";
import { isStorableText, jsonNodes, pathOf } from "../json.ts";
import { software } from "../version.ts";
import type { Env } from "./app.ts";
import { issuesOf, readJson } from "./validate.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";

/** What one endpoint takes and gives: the single description that both validates and documents. */
export interface EndpointSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> {
  readonly method: Method;
  /** Hono path, with `:name` parameters. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** Requires `Authorization: Bearer <access token>`. */
  readonly auth?: boolean;
  readonly params?: P;
  readonly query?: Q;
  /** A JSON body. */
  readonly body?: B;
  /** A `multipart/form-data` body, documented by its fields (checked by the handler). */
  readonly multipart?: Readonly<Record<string, { description: string; binary?: boolean }>>;
  /** Successful answers by status; a missing schema means no body. */
  readonly responses: Readonly<Record<number, { description: string; schema?: z.ZodType }>>;
  /** Error codes this endpoint answers with besides the generic ones. */
  readonly errors?: readonly ErrorCode[];
  /** A body limit in bytes other than `BODY_LIMIT` (uploads). */
  readonly bodyLimit?: number;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

/** The validated input a handler receives. */
export interface EndpointInput<P, Q, B> {
  readonly params: Out<P>;
  readonly query: Out<Q>;
  readonly body: Out<B>;
}

/** How deep objects and arrays may nest in a request (the deepest schema needs 4). */
export const maxInputDepth = 32;
/** Enough of the bad strings to say where the trouble is. */
const maxReported = 20;

/**
 * Strings that PostgreSQL cannot store or that are not text: a NUL character, or a lone UTF-16
 * surrogate (JSON allows `"\\ud800"`). Found anywhere in the input, they refuse it whole.
 * @throws {AppError} `bad_request` when the input nests more than {@link maxInputDepth} deep.
 */
function badStrings(value: unknown, where: string): { path: string; message: string }[] {
  const bad: { path: string; message: string }[] = [];
  for (const node of jsonNodes(value)) {
    if (node.depth > maxInputDepth) {
      throw new AppError("bad_request", `The ${where} nest more than ${maxInputDepth} levels deep.`);
    }
    const badValue = typeof node.value === "string" && !isStorableText(node.value);
    if ((badValue || (typeof node.key === "string" && !isStorableText(node.key))) && bad.length < maxReported) {
      bad.push({ path: pathOf(node).join("."), message: "contains a NUL character or an unpaired surrogate" });
    }
  }
  return bad;
}

/** Whether the request carries no body at all (an empty POST from a browser, say). */
function bodyless(c: Context): boolean {
  const length = c.req.header("content-length");
  return c.req.raw.body == null || (length === "0" && !c.req.header("transfer-encoding"));
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const bad = badStrings(value, where);
  if (bad.length > 0) {
    throw new AppError("validation_failed", `Some ${where} are not valid text.`, {
      details: bad.map((i) => ({ ...i, in: where })),
    });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError("validation_failed", `Some ${where} are not valid.`, {
      details: issuesOf(result.error).map((i) => ({ ...i, in: where })),
    });
  }
  return result.data;
}

/** Errors every endpoint can give. */
const commonErrors: readonly ErrorCode[] = ["internal", "rate_limited", "database_unavailable"];
const authErrors: readonly ErrorCode[] = ["unauthenticated", "token_expired", "token_scope"];
const bodyErrors: readonly ErrorCode[] = ["malformed_json", "unsupported_media_type", "payload_too_large"];

/**
 * The registry of JSON API endpoints. Each endpoint is declared once, with zod schemas that
 * validate its input at run time and describe it in the OpenAPI 3.1 document, so the document
 * cannot drift from what the server accepts.
 */
export class Api {
  readonly #endpoints: EndpointSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>[] = [];
  readonly #requireUser: MiddlewareHandler<Env>;
  readonly #bodyLimits = new TrieRouter<number>();

  /** @param requireUser The middleware that authenticates a bearer token and sets `c.var.user`. */
  constructor(requireUser: MiddlewareHandler<Env>) {
    this.#requireUser = requireUser;
  }

  /**
   * Declares an endpoint and mounts it on `app`: authentication, then the `before`
   * middleware, then validation of params, query and body, then the handler.
   */
  route<
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(
    app: Hono<Env>,
    spec: EndpointSpec<P, Q, B>,
    handler: (c: Context<Env>, input: EndpointInput<P, Q, B>) => Response | Promise<Response>,
  ): void {
    this.#endpoints.push(spec);
    if (spec.bodyLimit != null) this.#bodyLimits.add(spec.method.toUpperCase(), spec.path, spec.bodyLimit);
    const middleware: MiddlewareHandler<Env>[] = [];
    if (spec.auth) middleware.push(this.#requireUser);
    const endpoint: MiddlewareHandler<Env> = async (c) => {
      const input = {
        params: spec.params ? parse(spec.params, c.req.param(), "path parameters") : undefined,
        query: spec.query ? parse(spec.query, c.req.query(), "query parameters") : undefined,
        // No body at all reads as `{}`: endpoints whose fields are all optional need none.
        body: spec.body ? parse(spec.body, bodyless(c) ? {} : await readJson(c), "fields") : undefined,
      } as EndpointInput<P, Q, B>;
      return handler(c, input);
    };
    // Hono's overloads cannot type a spread of handlers; the chain is all plain middleware.
    (app as unknown as { on(m: string[], p: string[], ...h: MiddlewareHandler<Env>[]): unknown }).on(
      [spec.method.toUpperCase()],
      [spec.path],
      ...middleware,
      endpoint,
    );
  }

  /** The body limit an endpoint declared for this request, if any. */
  bodyLimitFor(method: string, path: string): number | undefined {
    const [matches] = this.#bodyLimits.match(method, path);
    return matches[0]?.[0];
  }

  /** Method and path of every declared endpoint, for the coverage test. */
  get endpoints(): readonly { method: Method; path: string }[] {
    return this.#endpoints.map(({ method, path }) => ({ method, path }));
  }

  /** The OpenAPI 3.1 document of every declared endpoint. */
  document(origin: string): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const usedErrors = new Set<ErrorCode>();
    for (const spec of this.#endpoints) {
      const path = spec.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const parameters = [...objectParameters(spec.params, "path"), ...objectParameters(spec.query, "query")];
      const errors = new Set<ErrorCode>([
        ...commonErrors,
        ...(spec.auth ? authErrors : []),
        ...(spec.body || spec.multipart ? bodyErrors : []),
        ...(spec.body || spec.params || spec.query ? (["validation_failed"] as const) : []),
        ...(spec.errors ?? []),
      ]);
      const responses: Record<string, unknown> = {};
      for (const [status, response] of Object.entries(spec.responses)) {
        responses[status] = response.schema
          ? {
              description: response.description,
              content: { "application/json": { schema: jsonSchema(response.schema) } },
            }
          : { description: response.description };
      }
      const byStatus = new Map<number, ErrorCode[]>();
      for (const code of errors) {
        usedErrors.add(code);
        const status = errorCodes[code].status;
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, codes] of byStatus) {
        responses[String(status)] = {
          description: `A problem document; \`code\` is one of: ${codes.join(", ")}.`,
          content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        };
      }
      const operation: Record<string, unknown> = {
        operationId: `${spec.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ?? "").toUpperCase())}`,
        summary: spec.summary,
        tags: [spec.tag],
        parameters,
        responses,
      };
      if (spec.description) operation.description = spec.description;
      if (spec.auth) operation.security = [{ bearer: [] }];
      if (spec.body) {
        operation.requestBody = {
          required: true,
          content: { "application/json": { schema: jsonSchema(spec.body, "input") } },
        };
      } else if (spec.multipart) {
        operation.requestBody = {
          required: true,
          content: {
            "multipart/form-data": {
              schema: {
                type: "object",
                properties: Object.fromEntries(
                  Object.entries(spec.multipart).map(([name, field]) => [
                    name,
                    field.binary
                      ? { type: "string", format: "binary", description: field.description }
                      : { type: "string", description: field.description },
                  ]),
                ),
                required: Object.keys(spec.multipart),
              },
            },
          },
        };
      }
      paths[path] = { ...paths[path], [spec.method]: operation };
    }
    return {
      openapi: "3.1.0",
      info: {
        title: `${software.name} client API`,
        version: software.version,
        description:
          "Errors are RFC 9457 problem documents with a stable `code`; clients switch on `code`, never on text.",
      },
      servers: [{ url: origin }],
      paths,
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        schemas: {
          Problem: {
            type: "object",
            required: ["type", "title", "status", "detail", "code"],
            properties: {
              type: { type: "string", format: "uri" },
              title: { type: "string" },
              status: { type: "integer" },
              detail: { type: "string" },
              code: { type: "string", enum: [...usedErrors].sort() },
              requestId: { type: "string" },
              details: {},
            },
          },
        },
      },
    };
  }
}

function jsonSchema(schema: z.ZodType, io: "input" | "output" = "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" });
  return rest;
}

function objectParameters(schema: z.ZodType | undefined, where: "path" | "query"): Record<string, unknown>[] {
  if (schema == null) return [];
  const json = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    schema: property,
  }));
}
