import type { Context } from "hono";
import type { z } from "zod";
import { AppError } from "../errors.ts";

/** Turns zod issues into `{ path, message }` pairs for a problem document. */
export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
}

/**
 * Reads a JSON request body: 415 `unsupported_media_type` unless the body is declared JSON,
 * 400 `malformed_json` unless it parses.
 */
export async function readJson(c: Context): Promise<unknown> {
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
