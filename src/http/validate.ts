import type { Context, MiddlewareHandler, ValidationTargets } from "hono";
import { validator } from "hono/validator";
import type { z } from "zod";
import { AppError } from "../errors.ts";

type Target = "json" | "query" | "param" | "header" | "form";

/** Turns zod issues into `{ path, message }` pairs for a problem document. */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z.+-]*\+)?json\s*(;|$)/i.test(type)) {
    throw new AppError("unsupported_media_type", "Send the body as application/json.");
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new AppError("malformed_json", "The body is not valid JSON.", { cause });
  }
}

/**
 * Validates one part of the request with a zod schema; every failure looks the same: a 422
 * `validation_failed` problem listing each field, or 400 `malformed_json`, or 415 for a body
 * that is not JSON. Handlers read the result with `c.req.valid(target)`.
 * @param target Which part of the request to check.
 * @param schema The zod schema; its output is what the handler sees.
 */
export function validate<T extends Target, S extends z.ZodType>(
  target: T,
  schema: S,
): MiddlewareHandler<
  // biome-ignore lint/suspicious/noExplicitAny: Hono's validator typing takes any Env.
  any,
  string,
  { in: { [K in T]: z.input<S> }; out: { [K in T]: z.output<S> } }
> {
  const check = (value: unknown) => {
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new AppError("validation_failed", "Some fields are not valid.", { details: issuesOf(result.error) });
    }
    return result.data;
  };
  if (target === "json") {
    return async (c, next) => {
      const data = check(await readJson(c));
      c.req.addValidatedData("json" as keyof ValidationTargets, data as object);
      await next();
    };
  }
  // biome-ignore lint/suspicious/noExplicitAny: see above.
  return validator(target as keyof ValidationTargets, (value) => check(value)) as any;
}
