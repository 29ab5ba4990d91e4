import { describe, expect, it } from "vitest";
import { ApiError } from "../../web/src/api.ts";
import { describeError, waitText } from "../../web/src/errors.ts";

describe("what the client says of an error", () => {
  it("says how long to wait when the server says it", () => {
    const limited = (retryAfter?: number) =>
      describeError(
        new ApiError("rate_limited", "Too many attempts", 429, retryAfter == null ? undefined : { retryAfter }),
      );
    expect(limited(300)).toBe("Too many attempts: try again in 5 minutes.");
    expect(limited(1)).toBe("Too many attempts: try again in 1 second.");
    expect(limited()).toBe("Too many attempts: wait a moment and try again.");
  });

  it.each([
    [45, "45 seconds"],
    [89, "89 seconds"],
    [90, "2 minutes"],
    [3600, "60 minutes"],
    [7200, "2 hours"],
  ])("puts %i seconds as %s", (seconds, text) => {
    expect(waitText(seconds)).toBe(text);
  });
});
