/**
 * The one live stream of this tab: a ticket, then the WebSocket with the ticket in its
 * subprotocols; on a drop it reconnects with backoff and resumes from the last position.
 */
import { signal } from "@preact/signals";
import { ApiError, api, refresh } from "./api.ts";
import type { StreamEvent } from "./types.ts";

export type ConnectionState = "connecting" | "online" | "offline";

/** What the user sees in the offline banner. */
export const connection = signal<ConnectionState>("connecting");
/** When the next reconnection attempt is due (ms since epoch), for the banner. */
export const nextAttemptAt = signal<number | null>(null);

interface Handlers {
  /** Every event that carries data, in order. */
  event(event: StreamEvent): void;
  /** The connection (re)opened: `resumed` is false on the first connection or after a resync. */
  ready(resumed: boolean): void;
}

export class Stream {
  #socket: WebSocket | null = null;
  #position: number | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ping: ReturnType<typeof setInterval> | undefined;
  #stopped = false;
  readonly #handlers: Handlers;

  constructor(handlers: Handlers) {
    this.#handlers = handlers;
    addEventListener("online", this.#wake);
    document.addEventListener("visibilitychange", this.#wake);
  }

  /** Opens the stream (does nothing when already open or connecting). */
  start(): void {
    this.#stopped = false;
    if (this.#socket == null && this.#timer == null) void this.#connect();
  }

  /** Closes the stream for good (sign-out). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearInterval(this.#ping);
    this.#socket?.close(1000);
    this.#socket = null;
    this.#position = null;
    connection.value = "connecting";
  }

  /** Reconnects now instead of waiting for the backoff (the network came back, the tab woke up). */
  #wake = () => {
    if (this.#stopped || this.#socket != null || document.visibilityState === "hidden") return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.#connect();
  };

  /** Retries now, from the offline banner. */
  retryNow(): void {
    this.#attempt = 0;
    this.#wake();
  }

  async #connect(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    if (connection.value !== "offline") connection.value = "connecting";
    let ticket: string;
    try {
      ({ ticket } = await api<{ ticket: string }>("POST", "/stream/ticket"));
    } catch (error) {
      if (error instanceof ApiError && error.code === "unauthenticated") return; // signed out
      return this.#retry();
    }
    if (this.#stopped) return;
    const url = new URL("/api/v1/stream", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (this.#position != null) url.searchParams.set("since", String(this.#position));
    const socket = new WebSocket(url, ["chat.v1", `ticket.${ticket}`]);
    this.#socket = socket;
    const resumed = this.#position != null;
    socket.onmessage = (message) => {
      let event: StreamEvent;
      try {
        event = JSON.parse(String(message.data)) as StreamEvent;
      } catch {
        return;
      }
      if (event.type === "ready" || event.type === "resync") {
        // `resync`: the position was too old to replay; start from now, and the store refetches.
        this.#attempt = 0;
        connection.value = "online";
        nextAttemptAt.value = null;
        if (typeof event.position === "number") this.#position = event.position;
        this.#handlers.ready(event.type === "ready" && resumed);
        return;
      }
      if (event.type === "pong" || event.type === "error") return;
      if (
        typeof event.position === "number" &&
        event.type !== "typing" &&
        event.type !== "presence" &&
        event.type !== "command.reply"
      ) {
        if (this.#position != null && event.position <= this.#position) return; // seen already
        this.#position = event.position;
      }
      this.#handlers.event(event);
    };
    socket.onopen = () => {
      clearInterval(this.#ping);
      this.#ping = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
      }, 25_000);
    };
    socket.onclose = (close) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      clearInterval(this.#ping);
      if (this.#stopped) return;
      if (close.code === 4001) {
        // The session ended or the token expired: refresh, then reconnect (or sign out).
        void refresh()
          .then((session) => (session ? this.#retry(true) : this.stop()))
          .catch(() => this.#retry());
        return;
      }
      this.#retry();
    };
  }

  #retry(soon = false): void {
    if (this.#stopped) return;
    connection.value = "offline";
    // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so that a restarted server is not stampeded.
    const base = soon ? 200 : Math.min(30_000, 500 * 2 ** this.#attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#attempt++;
    nextAttemptAt.value = Date.now() + delay;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
