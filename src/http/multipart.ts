import type { Context } from "hono";
import { AppError } from "../errors.ts";
import type { Env } from "./app.ts";

/**
 * The one file of a `multipart/form-data` body.
 * @throws {AppError} `unsupported_media_type` for another body, `validation_failed` without the file.
 */
export async function multipartFile(c: Context<Env>, field: string): Promise<File> {
  if (!/^multipart\/form-data\s*;/i.test(c.req.header("content-type") ?? "")) {
    throw new AppError("unsupported_media_type", `Send the file as multipart/form-data in the field "${field}".`);
  }
  let form: Record<string, string | File | (string | File)[]>;
  try {
    form = await c.req.parseBody({ all: true });
  } catch (cause) {
    throw new AppError("bad_request", "The multipart body could not be read.", { cause });
  }
  const value = form[field];
  if (!(value instanceof File)) {
    throw new AppError("validation_failed", `Send exactly one file in the field "${field}".`, {
      details: [{ path: field, message: "expected one file" }],
    });
  }
  return value;
}
