import { type SQL, sql } from "drizzle-orm";
import { expect } from "vitest";
import { queryRows } from "../../src/db/client.ts";
import type { ProblemDocument } from "../../src/http/problem.ts";
import { bearer, createTestInstance, json, type TestInstance } from "../helpers/instance.ts";

/** A User-Agent that the sessions list should call "Firefox on Linux". */
export const firefoxOnLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** The user object of the API, as the tests read it. */
export interface ApiUser {
  id: string;
  username: string;
  handle: string;
  displayName: string;
  bio: string;
  color: string | null;
  avatarUrl: string | null;
  url: string;
  createdAt: string;
  fields: { name: string; value: string; verifiedAt: string | null }[];
  /** Only on the logged-in user. */
  role?: "user" | "admin";
}

/** What registration, login and refresh answer. */
export interface TokensBody {
  user: ApiUser;
  accessToken: string;
  expiresIn: number;
  refreshToken?: string;
}

/** A logged-in session: its tokens, with the refresh token delivered in the body. */
export interface LoggedIn {
  user: ApiUser;
  accessToken: string;
  refreshToken: string;
}

/**
 * Registers a user and returns the session, failing the test unless it is 201.
 * @param extra More fields of the body (displayName, deviceLabel).
 */
export async function registerUser(
  t: TestInstance,
  username: string,
  password = "correct horse battery",
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<LoggedIn> {
  const res = await t.request(
    "/api/v1/auth/register",
    json("POST", { username, password, refreshTokenIn: "body", ...extra }, headers),
  );
  expect(res.status, await peek(res)).toBe(201);
  const body = (await res.json()) as TokensBody;
  return { user: body.user, accessToken: body.accessToken, refreshToken: body.refreshToken ?? "" };
}

/** Logs in (refresh token in the body) and returns the session, failing the test unless it is 200. */
export async function loginUser(
  t: TestInstance,
  username: string,
  password = "correct horse battery",
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  address?: string,
): Promise<LoggedIn> {
  const res = await t.request(
    "/api/v1/auth/login",
    json("POST", { username, password, refreshTokenIn: "body", ...extra }, headers),
    address,
  );
  expect(res.status, await peek(res)).toBe(200);
  const body = (await res.json()) as TokensBody;
  return { user: body.user, accessToken: body.accessToken, refreshToken: body.refreshToken ?? "" };
}

/** The body of a response as text, without consuming it (for assertion messages). */
export async function peek(res: Response): Promise<string> {
  return await res.clone().text();
}

/** Asserts that a response is a problem document with this status and code, and returns it. */
export async function expectProblem(res: Response, status: number, code: string): Promise<ProblemDocument> {
  const text = await res.text();
  expect({ status: res.status, text }).toMatchObject({ status });
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(text) as ProblemDocument;
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(status);
  return problem;
}

/** Answers GET /api/v1/me with this access token: the status, and the user when 200. */
export async function whoAmI(t: TestInstance, accessToken: string): Promise<{ status: number; code?: string }> {
  const res = await t.request("/api/v1/me", { headers: { authorization: `Bearer ${accessToken}` } });
  const body = (await res.json()) as { code?: string; username?: string };
  return res.status === 200 ? { status: 200 } : { status: res.status, code: body.code ?? "" };
}

/** A parsed Set-Cookie header. */
export interface SetCookie {
  name: string;
  value: string;
  /** Attribute names lowercased; valueless attributes map to "". */
  attributes: Record<string, string>;
}

/** The Set-Cookie headers of a response, parsed. */
export function setCookies(res: Response): SetCookie[] {
  return res.headers.getSetCookie().map((header) => {
    const [pair = "", ...rest] = header.split(";").map((part) => part.trim());
    const at = pair.indexOf("=");
    const attributes: Record<string, string> = {};
    for (const attribute of rest) {
      const eq = attribute.indexOf("=");
      if (eq < 0) attributes[attribute.toLowerCase()] = "";
      else attributes[attribute.slice(0, eq).toLowerCase()] = attribute.slice(eq + 1);
    }
    return { name: pair.slice(0, at), value: pair.slice(at + 1), attributes };
  });
}

/** The refresh cookie's name on an https origin. */
export const refreshCookieName = "__Secure-fedchat_refresh";

/** The one refresh cookie a response sets, or undefined. */
export function refreshCookie(res: Response, name = refreshCookieName): SetCookie | undefined {
  const cookies = setCookies(res).filter((cookie) => cookie.name === name);
  expect(cookies.length).toBeLessThanOrEqual(1);
  return cookies[0];
}

/** The JSON of a JWT's header and payload, unverified. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = "", payload = ""] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  };
}

/** Rows of a raw query, on either driver. */
export async function rows<T extends Record<string, unknown>>(t: TestInstance, query: SQL): Promise<T[]> {
  return await queryRows<T>(t.database.db, query);
}

/** How many users the instance's database holds. */
export async function countUsers(t: TestInstance): Promise<number> {
  const [row] = await rows<{ n: number }>(t, sql`select count(*)::int as n from users`);
  return Number(row?.n);
}

export { gif1x1, jpeg1x1, png, webp1x1 } from "../helpers/images.ts";

/** A multipart/form-data body with one file in the field `file`. */
export function avatarForm(bytes: Uint8Array, fileName: string, type: string): FormData {
  const form = new FormData();
  form.append("file", new File([new Uint8Array(bytes)], fileName, { type }));
  return form;
}

/** An instance whose token signing key the test knows, so it can forge tokens with it. */
export async function createKeyedInstance(
  env: Record<string, string>,
  jwtPrivateKey: JsonWebKey,
): Promise<TestInstance> {
  return await createTestInstance(env, { jwtPrivateKey });
}

/** A live stream event as the tests read it. */
export interface StreamEvent {
  type: string;
  position: number;
  roomId?: string;
  data: Record<string, unknown>;
}

/** An SSE stream read frame by frame, with bounded waits. */
export async function openStream(t: TestInstance, headers: Record<string, string>, resume?: number) {
  const ticketRes = await t.request("/api/v1/stream/ticket", { method: "POST", headers });
  expect(ticketRes.status).toBe(200);
  const { ticket } = (await ticketRes.json()) as { ticket: string };
  const res = await t.request(`/api/v1/stream?ticket=${ticket}`, {
    headers: resume == null ? {} : { "last-event-id": String(resume) },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const queue: StreamEvent[] = [];
  let ended = false;
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n");
        if (data) queue.push(JSON.parse(data) as StreamEvent);
        cut = buffer.indexOf("\n\n");
      }
    }
    ended = true;
  })().catch(() => {
    ended = true;
  });
  return {
    async take(n: number, ms = 5000): Promise<StreamEvent[]> {
      const deadline = Date.now() + ms;
      while (queue.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} events, got ${JSON.stringify(queue)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return queue.splice(0, n);
    },
    async ended(ms = 6000) {
      const deadline = Date.now() + ms;
      while (!ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return ended;
    },
    close: () => reader.cancel().then(() => pump),
  };
}

/** A registered user as the API tests act: id, name and bearer headers. */
export interface Client {
  id: string;
  username: string;
  headers: Record<string, string>;
}

let clientCount = 0;

/**
 * The helpers API tests call the server with, bound to their instance (`instance` is read at
 * each call, since the instance is made in `beforeAll`).
 */
export function apiClient(instance: () => TestInstance) {
  return {
    /** Registers a fresh user whose name starts with `prefix` (on another instance if given). */
    async signUp(prefix: string, on: TestInstance = instance()): Promise<Client> {
      const username = `${prefix}_${++clientCount}`;
      const session = await registerUser(on, username);
      return { id: session.user.id, username, headers: bearer(session.accessToken) };
    },
    /** Sends a request as `who`, with a JSON body when one is given. */
    call(method: string, path: string, who: Client, body?: unknown, address?: string): Promise<Response> {
      return instance().request(
        `/api/v1${path}`,
        body === undefined ? { method, headers: who.headers } : json(method, body, who.headers),
        address,
      );
    },
    /** Expects the status and returns the body (none for 204). */
    async ok<T>(res: Response, status = 200): Promise<T> {
      expect(res.status, await peek(res)).toBe(status);
      return (status === 204 ? undefined : await res.json()) as T;
    },
  };
}
