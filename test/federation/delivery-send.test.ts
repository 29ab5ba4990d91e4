import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { DeliverySender, PrivateAddressError, publicLookup, retryAfterMs } from "../../federation/delivery-send.ts";
import type { Deps } from "../../src/deps.ts";

/** What a lookup answers for a host: the addresses, or the error. */
const resolve = (lookup: ReturnType<typeof publicLookup>, host: string) =>
  new Promise<LookupAddress[] | Error>((done) =>
    lookup(host, { all: true }, (error, addresses) => done(error ?? (addresses as unknown as LookupAddress[]))),
  );

describe("the address a delivery connects to", () => {
  it("is never private, loopback or reserved, checked on the connection's own lookup", async () => {
    const lookup = publicLookup(false);
    for (const host of ["localhost", "127.0.0.1", "::1", "169.254.169.254", "10.0.0.7", "::ffff:127.0.0.1"]) {
      expect(await resolve(lookup, host), host).toBeInstanceOf(PrivateAddressError);
    }
  });

  it("may be on loopback where private addresses are allowed (tests)", async () => {
    const addresses = await resolve(publicLookup(true), "127.0.0.1");
    expect(addresses).toEqual([{ address: "127.0.0.1", family: 4 }]);
  });

  it("is never a private address written as the host, which no lookup sees", async () => {
    const deps = { config: { origin: "https://chat.example", allowPrivateAddress: false } } as unknown as Deps;
    const sender = new DeliverySender(deps, () => new URL("https://chat.example/rooms/x"));
    const item = { position: 1, roomId: "x", body: "{}" };
    for (const inbox of ["http://127.0.0.1:9/inbox", "http://[::1]:9/inbox", "http://[::ffff:10.0.0.1]/inbox"]) {
      const result = await sender.deliver(inbox, item, null, AbortSignal.timeout(5000));
      expect(result, inbox).toMatchObject({ kind: "gone" });
    }
  });
});

describe("a Retry-After header", () => {
  it("is read as seconds or an HTTP date, at most a day, and ignored when neither or past", () => {
    const now = Date.parse("2026-12-07T12:00:00Z");
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs(" 5 ", now)).toBe(5_000);
    expect(retryAfterMs("Mon, 07 Dec 2026 12:10:00 GMT", now)).toBe(600_000);
    expect(retryAfterMs("9999999", now)).toBe(24 * 60 * 60 * 1000);
    for (const bad of [undefined, "", "soon", "-5", "1.5", "0", "Mon, 07 Dec 2026 11:00:00 GMT"]) {
      expect(retryAfterMs(bad, now), String(bad)).toBeUndefined();
    }
  });
});
