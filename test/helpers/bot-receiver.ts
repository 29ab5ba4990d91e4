/**
 * A bot's HTTP endpoint for tests: a real server on a loopback port that records every request
 * (headers, raw body, whether its signature verifies with the secret it was given) and answers
 * as the test tells it.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { signatureHeader, timestampHeader, verifyBotRequest } from "../../src/bots/signature.ts";

export interface ReceivedCall {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: Record<string, unknown>;
  /** What `verifyBotRequest` said with the receiver's current secret. */
  readonly verified: ReturnType<typeof verifyBotRequest>;
}

export type Answer = { status: number; body?: string };

export interface BotReceiver {
  readonly url: string;
  readonly calls: ReceivedCall[];
  /** The secret signatures are checked with (set it from `PUT /bot-hook`'s answer). */
  secret: string;
  /** How the next requests are answered; a request whose signature fails gets 401 whatever this says. */
  answer: (call: ReceivedCall) => Answer;
  /** Waits until `n` calls have arrived (bounded), and returns them. */
  waitFor(n: number, ms?: number): Promise<ReceivedCall[]>;
  close(): Promise<void>;
}

export async function startBotReceiver(): Promise<BotReceiver> {
  const receiver: Omit<BotReceiver, "url"> & { url: string } = {
    url: "",
    calls: [],
    secret: "",
    answer: () => ({ status: 204 }),
    async waitFor(n, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (receiver.calls.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} calls, got ${receiver.calls.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return receiver.calls;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString("utf8");
      const verified = verifyBotRequest(receiver.secret, {
        signature: req.headers[signatureHeader] as string | undefined,
        timestamp: req.headers[timestampHeader] as string | undefined,
        body: raw,
      });
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {}
      const call = { headers: req.headers, body, json, verified };
      receiver.calls.push(call);
      const answer = verified.ok ? receiver.answer(call) : { status: 401, body: "" };
      res.writeHead(answer.status, answer.body ? { "content-type": "application/json" } : {});
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
