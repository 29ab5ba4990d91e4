import { describe, expect, it } from "vitest";
import { replayWindowSeconds, signBotRequest, verifyBotRequest } from "../../../src/bots/signature.ts";

const secret = "fcs_test-secret";
const body = '{"type":"command","command":"roll","text":"2d6"}';
const now = 1_800_000_000_000;
const ts = now / 1000;

describe("bot request signatures", () => {
  it("accepts a request signed with the secret within the window", () => {
    const signature = signBotRequest(secret, ts, body);
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifyBotRequest(secret, { signature, timestamp: String(ts), body }, now)).toEqual({ ok: true });
    // The same bytes, given as bytes.
    const bytes = new TextEncoder().encode(body);
    expect(verifyBotRequest(secret, { signature, timestamp: String(ts), body: bytes }, now)).toEqual({ ok: true });
  });

  it("refuses a wrong secret, a changed body or a changed timestamp", () => {
    const signature = signBotRequest(secret, ts, body);
    const check = (s: string, t: number, b: string) =>
      verifyBotRequest(s, { signature, timestamp: String(t), body: b }, now);
    expect(check("fcs_other", ts, body)).toEqual({ ok: false, reason: "signature" });
    expect(check(secret, ts, body.replace("2d6", "9d6"))).toEqual({ ok: false, reason: "signature" });
    expect(check(secret, ts - 1, body)).toEqual({ ok: false, reason: "signature" });
    const truncated = verifyBotRequest(secret, { signature: signature.slice(0, 20), timestamp: String(ts), body }, now);
    expect(truncated).toEqual({ ok: false, reason: "signature" });
  });

  it("refuses an old or future timestamp even when correctly signed (a replay)", () => {
    for (const sent of [ts - replayWindowSeconds - 1, ts + replayWindowSeconds + 1]) {
      const signature = signBotRequest(secret, sent, body);
      expect(verifyBotRequest(secret, { signature, timestamp: String(sent), body }, now)).toEqual({
        ok: false,
        reason: "timestamp",
      });
    }
    const edge = ts - replayWindowSeconds;
    const signature = signBotRequest(secret, edge, body);
    expect(verifyBotRequest(secret, { signature, timestamp: String(edge), body }, now)).toEqual({ ok: true });
  });

  it("refuses missing headers and a timestamp that is not a number", () => {
    const signature = signBotRequest(secret, ts, body);
    expect(verifyBotRequest(secret, { signature: undefined, timestamp: String(ts), body }, now).ok).toBe(false);
    expect(verifyBotRequest(secret, { signature, timestamp: null, body }, now)).toEqual({
      ok: false,
      reason: "missing",
    });
    expect(verifyBotRequest(secret, { signature, timestamp: "1e9", body }, now)).toEqual({
      ok: false,
      reason: "timestamp",
    });
  });
});
