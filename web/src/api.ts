/**
 * The JSON API: the access token lives in memory only; the refresh token is the server's
 * HttpOnly cookie. Refreshes are serialised across tabs with the Web Locks API, because two
 * concurrent refreshes with one cookie look like a stolen token and end the session.
 */
import type { Problem, User } from "./types.ts";

/** An API failure, by the problem document's stable `code` (or `network` when offline). */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 0, details?: unknown) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

interface Session {
  user: User;
  accessToken: string;
  expiresIn: number;
}

let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<Session | null> | null = null;
const sessionListeners = new Set<(user: User | null) => void>();

/** Called with the user after every login or refresh, and with null when the session ends. */
export function onSession(listener: (user: User | null) => void): () => void {
  sessionListeners.add(listener);
  return () => sessionListeners.delete(listener);
}

function adopt(session: Session | null): Session | null {
  clearTimeout(refreshTimer);
  accessToken = session?.accessToken ?? null;
  if (session) {
    // Renew a minute before expiry, so requests rarely meet an expired token.
    const delay = Math.max(10, session.expiresIn - 60) * 1000;
    refreshTimer = setTimeout(() => void refresh().catch(() => {}), delay);
  }
  for (const listener of sessionListeners) listener(session?.user ?? null);
  return session;
}

async function problemOf(response: Response): Promise<ApiError> {
  let problem: Partial<Problem> = {};
  try {
    problem = (await response.json()) as Partial<Problem>;
  } catch {
    // not a problem document
  }
  const code = typeof problem.code === "string" ? problem.code : response.status >= 500 ? "internal" : "unknown";
  const detail =
    typeof problem.detail === "string" && problem.detail
      ? problem.detail
      : (problem.title ?? `The server answered ${response.status}.`);
  return new ApiError(code, detail, response.status, problem.details);
}

async function raw(method: string, path: string, body?: unknown, token?: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  try {
    return await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError("network", "The server cannot be reached. Check your connection.");
  }
}

async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  if ("locks" in navigator && navigator.locks) return navigator.locks.request("fedchat-refresh", task);
  return task();
}

/**
 * Trades the refresh cookie for a new access token (one tab at a time).
 * @returns The session, or null when there is none (signed out, revoked, expired).
 */
export function refresh(): Promise<Session | null> {
  refreshing ??= withRefreshLock(async () => {
    const response = await raw("POST", "/api/v1/auth/refresh", {});
    if (response.ok) return adopt((await response.json()) as Session);
    const error = await problemOf(response);
    if (response.status === 401 || response.status === 400 || error.code === "validation_failed") return adopt(null);
    throw error;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/**
 * Calls the API with the access token; a 401 leads to one refresh and one retry.
 * @throws {ApiError} with the problem's code.
 */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  let response = await raw(method, `/api/v1${path}`, body, accessToken);
  if (response.status === 401 && accessToken != null) {
    const session = await refresh();
    if (session) response = await raw(method, `/api/v1${path}`, body, accessToken);
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/**
 * Downloads a file of the API with the access token (a link cannot carry it), as a Blob; a 401
 * leads to one refresh and one retry, as {@link api}.
 * @throws {ApiError} with the problem's code.
 */
export async function apiBlob(path: string): Promise<Blob> {
  const get = () =>
    fetch(`/api/v1${path}`, {
      headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
      credentials: "same-origin",
    }).catch(() => {
      throw new ApiError("network", "The server cannot be reached. Check your connection.");
    });
  let response = await get();
  if (response.status === 401 && accessToken != null && (await refresh())) response = await get();
  if (!response.ok) throw await problemOf(response);
  return await response.blob();
}

/**
 * Signs up or logs in; the refresh token goes to the HttpOnly cookie. A sign-up that waits for
 * an admin's approval starts no session: `null`.
 */
export async function authenticate(
  kind: "login" | "register",
  body: { username: string; password: string; displayName?: string },
): Promise<User | null> {
  const response = await raw("POST", `/api/v1/auth/${kind}`, { ...body, deviceLabel: deviceLabel() });
  if (!response.ok) throw await problemOf(response);
  if (response.status === 202) return null;
  const session = adopt((await response.json()) as Session);
  if (!session) throw new ApiError("internal", "No session.");
  broadcast("login");
  return session.user;
}

const logoutListeners = new Set<() => void>();

/**
 * Called when the person logs out in this tab (not when a session merely ends), before the
 * session is forgotten: what the account kept in this browser (drafts, unsent messages) goes.
 */
export function onLogout(listener: () => void): () => void {
  logoutListeners.add(listener);
  return () => logoutListeners.delete(listener);
}

/** Ends this session on the server and forgets the token. */
export async function logout(): Promise<void> {
  for (const listener of logoutListeners) listener();
  await withRefreshLock(async () => {
    await raw("POST", "/api/v1/auth/logout", {}, accessToken).catch(() => {});
  });
  adopt(null);
  broadcast("logout");
}

function deviceLabel(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua)
    ? "Firefox"
    : /Edg\//.test(ua)
      ? "Edge"
      : /Chrome\//.test(ua)
        ? "Chromium"
        : /Safari\//.test(ua)
          ? "Safari"
          : "Browser";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad/.test(ua)
      ? "iOS"
      : /Mac OS/.test(ua)
        ? "macOS"
        : /Windows/.test(ua)
          ? "Windows"
          : /Linux/.test(ua)
            ? "Linux"
            : "";
  return `${browser}${os ? ` on ${os}` : ""} (web)`;
}

// Tabs tell each other about logins and logouts: a logout in one tab signs the others out
// (their refresh cookie is gone), a login lets a signed-out tab pick the session up.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("fedchat-session") : null;
function broadcast(kind: "login" | "logout") {
  channel?.postMessage(kind);
}
channel?.addEventListener("message", (event) => {
  if (event.data === "logout") adopt(null);
  else if (event.data === "login" && accessToken == null) void refresh().catch(() => {});
});

/** An upload under way: its answer, and a way to stop it. */
export interface Upload<T> {
  done: Promise<T>;
  abort(): void;
}

/**
 * Sends a file as multipart `file` with upload progress (fetch cannot report it, so this
 * uses XMLHttpRequest); a 401 leads to one refresh and one retry, as for `api`.
 * @param fields Text fields sent along with the file (a sticker's name).
 * @throws {ApiError} from `done`, with the problem's code (`aborted` when stopped).
 */
export function upload<T = unknown>(
  path: string,
  file: File,
  onProgress: (fraction: number) => void,
  fields: Readonly<Record<string, string>> = {},
): Upload<T> {
  let xhr: XMLHttpRequest | null = null;
  let aborted = false;
  const once = () =>
    new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
      const request = new XMLHttpRequest();
      xhr = request;
      request.open("POST", `/api/v1${path}`);
      request.setRequestHeader("accept", "application/json");
      if (accessToken) request.setRequestHeader("authorization", `Bearer ${accessToken}`);
      request.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      request.onload = () =>
        resolve({
          status: request.status,
          body: request.responseText,
          type: request.getResponseHeader("content-type") ?? "",
        });
      request.onerror = () => reject(new ApiError("network", "The server cannot be reached. Check your connection."));
      request.onabort = () => reject(new ApiError("aborted", "Upload cancelled."));
      const form = new FormData();
      form.append("file", file, file.name);
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      request.send(form);
    });
  const done = (async () => {
    let answer = await once();
    if (answer.status === 401 && accessToken != null && !aborted) {
      if (await refresh()) answer = await once();
    }
    const response = new Response(answer.body || null, {
      status: answer.status,
      headers: { "content-type": answer.type },
    });
    if (!response.ok) throw await problemOf(response);
    return (await response.json()) as T;
  })();
  return {
    done,
    abort() {
      aborted = true;
      (xhr as XMLHttpRequest | null)?.abort();
    },
  };
}
