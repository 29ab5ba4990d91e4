/**
 * Fuzzes the live stream: every kind of client frame on the WebSocket (text and binary JSON,
 * non-JSON, invalid UTF-8, oversized, hostile `type` values), raw bytes and malformed frames
 * after the handshake, hostile upgrade requests, and the SSE endpoint's query and
 * `Last-Event-ID`.
 *
 * The property: each frame gets an answer (an `error` frame with a string code, or `pong` for
 * a ping) or the socket is closed with a code; nothing crashes or is logged as an error; the
 * database is unchanged; and another client's socket stays open and served throughout.
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { addAccessRule, removeAccessRule } from "../../src/access/rules.ts";
import { clientFrame } from "../helpers/stream.ts";
import {
  anyBytes,
  anyString,
  dangerousKeys,
  encodeSegment,
  headerValue,
  jsonText,
  jsonValueText,
  nested,
  numberTokens,
  objectText,
  shortString,
} from "./arbitraries.ts";
import {
  api,
  expectNoCrash,
  expectUnchanged,
  type FuzzServer,
  type FuzzUser,
  fuzzParameters,
  observe,
  preview,
  problemOf,
  propertyTimeoutMs,
  type send,
  signUp,
  startFuzzServer,
} from "./support.ts";

/** Tables a stream connection changes by being open: its ticket is used up, its presence noted. */
const streamTables = ["stream_tickets"];
const answerMs = 5000;

interface Frame {
  type: string;
  position?: number;
  data?: { code?: unknown };
}

/** A WebSocket client that keeps every frame and how it closed. */
class Client {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  sent = 0;
  readonly #waiters = new Set<() => void>();
  readonly ws: WebSocket;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
      } catch {
        frame = { type: `<not JSON: ${String(data).slice(0, 80)}>` };
      }
      // Presence and room events come and go with other connections: not answers.
      if (typeof frame.type !== "string" || ["error", "pong"].includes(frame.type) || frame.type.startsWith("<")) {
        this.frames.push(frame);
      }
      this.#wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.#wake();
    });
    ws.on("error", () => {});
  }

  #wake() {
    for (const waiter of this.#waiters) waiter();
  }

  /** Resolves once `done` holds (checked on every frame and on the close), or fails after `ms`. */
  /**
   * Resolves once `done` holds (checked on every frame, on the close, and every 50 ms), or
   * fails after `ms`. A crash of the server ends the wait too: no answer is coming then.
   */
  until(what: string, done: () => boolean, ms = answerMs): Promise<void> {
    const crashes = server.crashes.length;
    const over = () => done() || server.crashes.length > crashes;
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!over()) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.#waiters.delete(check);
        resolve();
      };
      const poll = setInterval(check, 50);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.#waiters.delete(check);
        reject(new Error(`no ${what} within ${ms} ms (answers so far: ${JSON.stringify(this.frames.slice(-4))})`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }
}

let server: FuzzServer;
let alice: FuzzUser;
let bob: FuzzUser;
/** Bob's socket: it must stay open, and answer, whatever Alice's sockets are sent. */
let witness: Client;

async function ticket(user: FuzzUser): Promise<string> {
  return (await api<{ ticket: string }>(server, user, "POST", "/api/v1/stream/ticket")).ticket;
}

function streamUrl(query = ""): string {
  return `${server.url.replace(/^http/, "ws")}/api/v1/stream${query}`;
}

/** Opens a socket for the user and waits for its `ready` (or `resync`). */
async function open(user: FuzzUser): Promise<Client> {
  const ws = new WebSocket(streamUrl(), ["chat.v1", `ticket.${await ticket(user)}`], {
    headers: { origin: server.url },
  });
  const client = new Client(ws);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the stream did not open within 5 s")), answerMs);
    ws.once("message", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`the upgrade was refused: ${res.statusCode}`)));
    ws.once("error", reject);
  });
  return client;
}

/** Sends a ping and waits for its pong: the socket is served. */
async function expectServed(client: Client, label: string): Promise<void> {
  if (client.closed) throw new Error(`${label} is closed (${client.closed.code} ${client.closed.reason})`);
  const pongs = client.frames.filter((f) => f.type === "pong").length;
  client.ws.send(JSON.stringify({ type: "ping" }));
  client.sent++;
  await client.until(`pong from ${label}`, () => client.frames.filter((f) => f.type === "pong").length > pongs);
}

beforeAll(async () => {
  server = await startFuzzServer();
  [alice, bob] = await Promise.all([signUp(server, "alice"), signUp(server, "bob")]);
  const room = await api<{ id: string }>(
    server,
    alice,
    "POST",
    "/api/v1/rooms",
    { name: "Stream", visibility: "public" },
    201,
  );
  await api(server, bob, "POST", `/api/v1/rooms/${room.id}/join`);
  witness = await open(bob);
}, 60_000);

afterAll(async () => {
  witness?.ws.terminate();
  await server?.close();
});

/** A frame as the client sends it. */
type ClientFrame =
  | { kind: "text"; text: string }
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "bad-utf8"; bytes: Uint8Array };

/** Values for `type`: the one that crashed the server (`{"toString":0}`) and its relatives among them. */
const typeValue = fc.oneof(
  { weight: 2, arbitrary: jsonText },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(fc.constantFrom(...dangerousKeys), fc.oneof(jsonText, fc.constantFrom("0", "{}", "null", "[]"))),
        {
          minLength: 1,
          maxLength: 3,
        },
      )
      .map(objectText),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"toString":0}',
      '[{"toString":0}]',
      '{"valueOf":0,"toString":0}',
      '"ping"',
      '"PING"',
      '"ping\\u0000"',
    ),
  },
);

const frameArbitrary: fc.Arbitrary<ClientFrame> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        typeValue,
        fc.array(fc.tuple(fc.constantFrom(...dangerousKeys, "data", "roomId"), jsonText), { maxLength: 3 }),
      )
      .map(([type, rest]) => ({ kind: "text" as const, text: objectText([["type", type], ...rest]) })),
  },
  { weight: 2, arbitrary: jsonText.map((text) => ({ kind: "text" as const, text })) },
  { weight: 1, arbitrary: jsonValueText.map((text) => ({ kind: "text" as const, text })) },
  { weight: 1, arbitrary: anyString.map((text) => ({ kind: "text" as const, text })) },
  { weight: 1, arbitrary: anyBytes.map((bytes) => ({ kind: "binary" as const, bytes })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('{"type":"', "", '"'), fc.uint8Array({ minLength: 1, maxLength: 20 }))
      .map(([head, tail]) => ({
        kind: "bad-utf8" as const,
        bytes: new Uint8Array(Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), tail])),
      })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(64 * 1024 - 20, 64 * 1024 + 1, 200_000).map((n) => ({
      kind: "text" as const,
      text: `{"type":"ping","pad":"${"x".repeat(n)}"}`,
    })),
  },
);

/** What the server should make of a frame: `pong` for a ping, else an error. */
function expectedAnswer(frame: ClientFrame): "pong" | "error" {
  const text = frame.kind === "text" ? frame.text : new TextDecoder().decode(frame.bytes);
  try {
    return (JSON.parse(text) as { type?: unknown } | null)?.type === "ping" ? "pong" : "error";
  } catch {
    return "error";
  }
}

function describeFrame(frame: ClientFrame): string {
  return `${frame.kind} frame ${preview(frame.kind === "text" ? frame.text : frame.bytes)}`;
}

/** Close codes a server may send; 1005 (none given) and 1006 (dropped) are not answers. */
const answeredClose = (code: number) => code >= 1000 && code <= 4999 && code !== 1005 && code !== 1006;

/** Sends one frame on the socket and checks the property for it. */
async function checkFrame(socket: Client, frame: ClientFrame): Promise<void> {
  const label = describeFrame(frame);
  const before = await server.snapshot(streamTables);
  const seen = await observe(server, async () => {
    const answers = socket.frames.length;
    if (frame.kind === "text") socket.ws.send(frame.text);
    else socket.ws.send(Buffer.from(frame.bytes), { binary: frame.kind === "binary" });
    socket.sent++;
    let error: unknown;
    await socket
      .until("answer", () => socket.frames.length > answers || socket.closed != null)
      .catch((e) => {
        error = e;
      });
    return { answers, error };
  });
  expectNoCrash(label, seen);
  if (seen.error) throw new Error(`${label}: ${(seen.error as Error).message}`);
  if (socket.closed) {
    if (!answeredClose(socket.closed.code)) throw new Error(`${label}: the socket was dropped (${socket.closed.code})`);
  } else {
    const answer = socket.frames[seen.answers] as Frame;
    const expected = expectedAnswer(frame);
    if (answer.type !== expected) throw new Error(`${label}: expected ${expected}, got ${JSON.stringify(answer)}`);
    if (expected === "error" && typeof answer.data?.code !== "string") {
      throw new Error(`${label}: an error frame without a code: ${JSON.stringify(answer)}`);
    }
    await expectServed(socket, "the fuzzed socket");
  }
  expectUnchanged(label, before, await server.snapshot(streamTables));
  if (witness.closed)
    throw new Error(`after ${label}, another client's socket closed: ${JSON.stringify(witness.closed)}`);
}

describe("the stream WebSocket", () => {
  let client: Client | undefined;

  it(
    "answers every client frame with an error, a pong or a coded close, and keeps serving",
    async () => {
      await fc.assert(
        fc.asyncProperty(frameArbitrary, async (frame) => {
          // 50 frames per 10 s per socket: a fresh socket well before that.
          if (client == null || client.closed || client.sent >= 30) {
            client?.ws.terminate();
            client = await open(alice);
          }
          const socket = client;
          try {
            await checkFrame(socket, frame);
          } catch (error) {
            // A socket that failed is not reused: shrinking must not blame a smaller frame for it.
            socket.ws.terminate();
            client = undefined;
            throw error;
          }
        }),
        fuzzParameters(150),
      );
      // Still serving another client, after everything.
      await expectServed(witness, "the witness socket");
    },
    propertyTimeoutMs,
  );

  it(
    "survives raw bytes and malformed frames after the handshake",
    async () => {
      const rawInput = fc.oneof(
        anyBytes,
        fc
          .tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 200 }), fc.boolean())
          .map(([opcode, payload, fin]) => {
            const frame = clientFrame(opcode, Buffer.from(payload));
            if (!fin) frame[0] = (frame[0] as number) & 0x7f;
            return new Uint8Array(frame);
          }),
        // Unmasked, with reserved bits, or declaring more than it carries.
        fc.constantFrom(
          new Uint8Array([0x81, 0x02, 0x7b, 0x7d]),
          new Uint8Array([0xf1, 0x80, 0, 0, 0, 0]),
          new Uint8Array([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
          new Uint8Array([0x88, 0x81, 0, 0, 0, 0, 0]),
          new Uint8Array([0x89, 0xfe, 0xff, 0xff, 0, 0, 0, 0]),
        ),
      );
      await fc.assert(
        fc.asyncProperty(rawInput, async (bytes) => {
          const label = `raw bytes ${preview(bytes)} after the handshake`;
          const t = await ticket(alice);
          const seen = await observe(server, async () => {
            const socket = await rawHandshake(t);
            socket.write(bytes);
            // The server closes, or waits for the rest of a frame: either is fine, within bounds.
            await new Promise((resolve) => {
              socket.once("close", resolve);
              setTimeout(resolve, 50);
            });
            socket.destroy();
            return {};
          });
          expectNoCrash(label, seen);
          if (witness.closed) throw new Error(`after ${label}, another client's socket closed`);
        }),
        fuzzParameters(40),
      );
      await expectServed(witness, "the witness socket");
    },
    propertyTimeoutMs,
  );

  it(
    "refuses hostile upgrade requests with a coded 4xx, or opens the stream",
    async () => {
      const input = fc.record({
        withTicket: fc.boolean(),
        protocols: fc.oneof(
          fc.constant(undefined),
          fc.array(fc.oneof(fc.constantFrom("chat.v1", "ticket.", "ticket.x", "chat.v2", ""), headerValue), {
            maxLength: 4,
          }),
        ),
        origin: fc.oneof(
          fc.constant("same"),
          fc.constant(undefined),
          headerValue,
          fc.constantFrom("null", "http://127.0.0.1", "https://evil.example"),
        ),
        since: fc.option(
          fc.oneof(fc.constantFrom(...numberTokens, "", "-1", "1.5", "abc"), shortString.map(encodeSegment)),
          { nil: undefined },
        ),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ withTicket, protocols, origin, since }) => {
          const t = withTicket ? await ticket(alice) : undefined;
          const offered = [...(protocols ?? ["chat.v1"]), ...(t ? [`ticket.${t}`] : [])].map((p) =>
            p.replace(/[,\s]/g, ""),
          );
          const headers: Record<string, string> = {
            "sec-websocket-protocol": offered.filter((p) => p !== "").join(", "),
          };
          const originValue = origin === "same" ? server.url : origin;
          if (originValue !== undefined) headers.origin = originValue;
          const path = `/api/v1/stream${since === undefined ? "" : `?since=${since}`}`;
          await checkUpgrade(path, headers);
        }),
        fuzzParameters(60),
      );
      await expectServed(witness, "the witness socket");
    },
    propertyTimeoutMs,
  );
});

/** Sends an upgrade request and checks that it opens the stream or gets a coded 4xx that changed nothing. */
async function checkUpgrade(path: string, headers: Record<string, string>): Promise<void> {
  const label = `upgrade ${path} with ${JSON.stringify(headers)}`;
  const before = await server.snapshot(streamTables);
  const seen = await observe(server, () => rawUpgrade(path, headers));
  expectNoCrash(label, seen);
  if (seen.status === 101) {
    if (!/"type":"(ready|resync)"/.test(seen.rest)) {
      throw new Error(`${label}: opened, but the first frame is not ready: ${preview(seen.rest)}`);
    }
    return;
  }
  if (seen.status < 400 || seen.status >= 500)
    throw new Error(`${label}: answered ${seen.status}: ${preview(seen.rest)}`);
  let code: unknown;
  try {
    code = (JSON.parse(seen.body) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  if (typeof code !== "string" || !/application\/problem\+json/i.test(seen.head)) {
    throw new Error(`${label}: a ${seen.status} without a coded problem: ${preview(seen.head + seen.body)}`);
  }
  expectUnchanged(label, before, await server.snapshot(streamTables));
}

/** Opens a TCP connection, performs the upgrade with a ticket, and returns the socket once it is accepted. */
function rawHandshake(t: string): Promise<Socket> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        "GET /api/v1/stream HTTP/1.1\r\n" +
          `Host: ${hostname}:${port}\r\nOrigin: ${server.url}\r\n` +
          "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
          `Sec-WebSocket-Protocol: chat.v1, ticket.${t}\r\n\r\n`,
      );
    });
    let received = "";
    const timer = setTimeout(() => reject(new Error("no handshake within 5 s")), answerMs);
    const onData = (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (!received.includes("\r\n\r\n")) return;
      clearTimeout(timer);
      socket.off("data", onData);
      if (received.startsWith("HTTP/1.1 101")) resolve(socket);
      else reject(new Error(`the upgrade was refused: ${received.slice(0, 200)}`));
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  });
}

/** Sends an upgrade request with the given headers and reads the answer's status, head and body. */
function rawUpgrade(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; head: string; body: string; rest: string }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port,
      path,
      headers: {
        ...headers,
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": randomBytes(16).toString("base64"),
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to the upgrade ${path} within 5 s`));
    }, answerMs);
    req.on("upgrade", (res, socket, head) => {
      let rest = head.toString("latin1");
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, head: "", body: "", rest });
      };
      if (rest.includes("ready") || rest.includes("resync")) return done();
      socket.on("data", (chunk: Buffer) => {
        rest += chunk.toString("latin1");
        if (rest.includes("ready") || rest.includes("resync")) done();
      });
      setTimeout(done, 1000);
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, head: JSON.stringify(res.headers), body, rest: body });
      });
    });
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

describe("the stream over SSE", () => {
  it(
    "answers hostile since and Last-Event-ID with a coded 4xx, or a stream that reaches ready or resync",
    async () => {
      const input = fc.record({
        ticket: fc.oneof(
          { weight: 4, arbitrary: fc.constant("real") },
          { weight: 1, arbitrary: shortString.map(encodeSegment) },
        ),
        since: fc.option(
          fc.oneof(fc.constantFrom(...numberTokens, "", "-1", "1.5", "abc", "0x10"), shortString.map(encodeSegment)),
          { nil: undefined },
        ),
        lastEventId: fc.option(headerValue, { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(input, async (args) => {
          const t = args.ticket === "real" ? await ticket(alice) : args.ticket;
          const path = `/api/v1/stream?ticket=${t}${args.since === undefined ? "" : `&since=${args.since}`}`;
          const headers: Record<string, string> =
            args.lastEventId === undefined ? {} : { "last-event-id": args.lastEventId };
          const label = `GET ${path} with ${JSON.stringify(headers)}`;
          const before = await server.snapshot(streamTables);
          const seen = await observe(server, () => openingEvents(path, headers));
          expectNoCrash(label, seen);
          if (seen.status === 200) {
            const last = seen.events.at(-1);
            if (!/^(ready|resync)$/.test(last?.type ?? "") || seen.events.some((e) => typeof e.position !== "number")) {
              throw new Error(`${label}: the stream opens with ${JSON.stringify(seen.events).slice(0, 500)}`);
            }
            return;
          }
          problemOf(seen);
          expectUnchanged(label, before, await server.snapshot(streamTables));
        }),
        fuzzParameters(60),
      );
    },
    propertyTimeoutMs,
  );
});

/**
 * GETs the SSE stream and reads its events up to `ready` or `resync` (a resumed stream replays
 * what was missed first), or the whole answer when it is not a stream.
 */
function openingEvents(
  path: string,
  headers: Record<string, string>,
): Promise<Awaited<ReturnType<typeof send>> & { events: Frame[] }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers }, (res) => {
      const events: Frame[] = [];
      let text = "";
      const answer = () => ({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.from(text),
        text,
        events,
      });
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        if (!/^text\/event-stream/.test(res.headers["content-type"] ?? "")) return;
        let end = text.indexOf("\n\n");
        while (end >= 0) {
          const data = text
            .slice(0, end)
            .split("\n")
            .find((line) => line.startsWith("data: "))
            ?.slice(6);
          text = text.slice(end + 2);
          if (data) events.push(JSON.parse(data) as Frame);
          end = text.indexOf("\n\n");
        }
        if (events.some((e) => e.type === "ready" || e.type === "resync")) {
          clearTimeout(timer);
          res.destroy();
          resolve(answer());
        }
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve(answer());
      });
      res.on("error", () => {});
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer, or no ready, to GET ${path} within 5 s`));
    }, answerMs);
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

// Inputs the fuzzing found, each as a plain test.
describe("stream input found by fuzzing", () => {
  /** Sends one text frame on a fresh socket and expects an error frame, then a served socket. */
  async function expectErrorFrame(text: string): Promise<void> {
    const socket = await open(alice);
    try {
      const seen = await observe(server, async () => {
        socket.ws.send(text);
        await socket.until("an answer", () => socket.frames.length > 0 || socket.closed != null).catch(() => {});
        return {};
      });
      expectNoCrash(`the frame ${preview(text)}`, seen);
      expect(socket.frames[0]).toMatchObject({ type: "error", data: { code: "validation_failed" } });
      await expectServed(socket, "the socket");
    } finally {
      socket.ws.terminate();
    }
  }

  it("answers a frame whose type is an object without toString with an error, without crashing", async () => {
    // String(frame.type) in src/stream/websocket.ts threw a TypeError out of the socket's
    // "message" listener: an uncaught exception, which ends a server process.
    await expectErrorFrame('{"type":{"toString":0}}');
  });

  it("answers a frame whose type is an array nested 5,000 deep with an error, without crashing", async () => {
    // The same String(frame.type): Array.prototype.join recursed until the stack ran out
    // (RangeError, uncaught). A fix that only guards against a missing toString misses it.
    await expectErrorFrame(`{"type":${nested(5000, "array")}}`);
  });

  it("refuses an upgrade from a network the access rules deny, before it uses the ticket", async () => {
    // A ticket had before the rule came: the API now refuses its network.
    const held = await ticket(alice);
    const rule = await addAccessRule(server.instance.deps, { cidr: "127.0.0.0/8", action: "deny", scope: "api" });
    try {
      const refused = await rawUpgrade("/api/v1/stream", {
        origin: server.url,
        "sec-websocket-protocol": `chat.v1, ticket.${held}`,
      });
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ code: "address_denied" });
    } finally {
      await removeAccessRule(server.instance.deps, rule.id);
    }
    // The ticket was not spent: the same upgrade opens now.
    await checkUpgrade("/api/v1/stream", { origin: server.url, "sec-websocket-protocol": `chat.v1, ticket.${held}` });
  });

  it("refuses an upgrade that offers a subprotocol twice with a coded problem, or opens", async () => {
    // ws refuses "chat.v1, chat.v1" (and non-token entries such as "(") with its own plain
    // 400 "Invalid Sec-WebSocket-Protocol header", after checkUpgrade has used up the ticket.
    await checkUpgrade("/api/v1/stream", {
      origin: server.url,
      "sec-websocket-protocol": `chat.v1, chat.v1, ticket.${await ticket(alice)}`,
    });
    await checkUpgrade("/api/v1/stream", {
      origin: server.url,
      "sec-websocket-protocol": `chat.v1, (, ticket.${await ticket(alice)}`,
    });
  });
});
