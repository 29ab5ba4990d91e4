import type { Context, Hono } from "hono";
import { z } from "zod";
import { AppError } from "../errors.ts";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { logger } from "../log.ts";
import { accessRoom } from "../rooms/rooms.ts";
import { roomParams } from "../rooms/schemas.ts";
import type { Hub } from "./hub.ts";
import { issueTicket } from "./tickets.ts";

const log = logger("stream", "sse");

/** Bytes an SSE client may fall behind before it is dropped (it then resumes from its position). */
const sseBufferBytes = 1024 * 1024;
/** How long a typing notice holds unless renewed. */
export const typingTimeoutMs = 6000;

function hubOf(c: Context<Env>): Hub {
  const hub = c.var.hub;
  if (hub == null) throw new AppError("not_ready", "The live stream is not running in this process.");
  return hub;
}

/**
 * Mounts the live stream's HTTP parts: tickets, the SSE fallback at `/api/v1/stream`, and
 * typing notices. The WebSocket at the same path is served by the runtime entry (it needs the
 * socket), through the same hub.
 */
export function streamRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/stream/ticket",
      tag: "stream",
      summary: "A single-use ticket (valid 30 s) that opens the live stream",
      description:
        'WebSocket: `new WebSocket(url, ["chat.v1", "ticket.<ticket>"])`, the server answers `chat.v1`; ' +
        "add `?since=<position>` to resume. SSE: `GET /api/v1/stream?ticket=<ticket>` with `Last-Event-ID` to resume.",
      auth: true,
      responses: {
        200: { description: "The ticket", schema: z.object({ ticket: z.string(), expiresIn: z.number() }) },
      },
    },
    async (c) => c.json(await issueTicket(c.var.deps, authenticated(c).session.id)),
  );

  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/stream",
      tag: "stream",
      summary: "The live stream as server-sent events (the fallback for the WebSocket)",
      query: z.object({
        ticket: z.string().min(1).max(100),
        since: z.coerce.number().int().min(0).optional(),
      }),
      responses: { 200: { description: "text/event-stream; each event's id is its stream position" } },
      errors: ["unauthenticated"],
    },
    async (c, { query }) => {
      const hub = hubOf(c);
      const who = await hub.redeemTicket(query.ticket);
      const lastEventId = c.req.header("last-event-id")?.trim() ?? "";
      const since = /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : query.since;
      const encoder = new TextEncoder();
      let detach: (() => void) | undefined;
      let keepAlive: ReturnType<typeof setInterval> | undefined;
      const stream = new ReadableStream<Uint8Array>(
        {
          async start(controller) {
            let open = true;
            const end = () => {
              if (!open) return;
              open = false;
              clearInterval(keepAlive);
              detach?.();
              try {
                controller.close();
              } catch {
                // already closed by the client
              }
            };
            // A failure here would surface as an error in the response stream, after the 200:
            // the boundary ends this one stream instead, and the client reconnects.
            detach = await hub
              .connect(
                who,
                {
                  transport: "sse",
                  send(text) {
                    if (!open) return false;
                    // The id is the stream position (ephemeral events repeat the last one), so the
                    // browser's Last-Event-ID resumes exactly after what it saw.
                    const { position } = JSON.parse(text) as { position: number };
                    controller.enqueue(encoder.encode(`id: ${position}\ndata: ${text}\n\n`));
                    return (controller.desiredSize ?? 0) > 0;
                  },
                  close: end,
                },
                since,
              )
              .catch((error: unknown) => {
                log.warn("An SSE stream could not start: {error}", { error });
                end();
                return undefined;
              });
            if (!open) {
              detach?.();
              return;
            }
            keepAlive = setInterval(() => {
              if (open) controller.enqueue(encoder.encode(": keep-alive\n\n"));
            }, 25_000);
          },
          cancel() {
            clearInterval(keepAlive);
            detach?.();
          },
        },
        { highWaterMark: sseBufferBytes, size: (chunk) => chunk?.byteLength ?? 0 },
      );
      return c.body(stream, 200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
      });
    },
  );

  api.route(
    app,
    {
      method: "post",
      path: "/api/v1/rooms/:roomId/typing",
      tag: "stream",
      summary: "Tell the room the caller is typing (or stopped); it expires after 6 s unless renewed",
      auth: true,
      params: roomParams,
      body: z.object({ typing: z.boolean().default(true) }),
      responses: { 204: { description: "Sent" } },
      errors: ["room_not_found", "not_a_member"],
    },
    async (c, { params, body }) => {
      const deps = c.var.deps;
      const { user } = authenticated(c);
      const { room } = await accessRoom(deps, params.roomId, user.id);
      enforceRateLimits(deps, [
        {
          key: `typing:${user.id}`,
          limit: Math.max(1, Math.round(30 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      await hubOf(c).publishEphemeral(params.roomId, "typing", {
        actorId: user.id,
        typing: body.typing,
        timeout: typingTimeoutMs,
      });
      // Other servers' members hear of it too, best effort: it is gone in 6 s anyway.
      deps.federation?.sendTyping(user.id, room, body.typing).catch((error: unknown) => {
        log.debug("A typing notice could not be sent to other servers: {error}", { error });
      });
      return c.body(null, 204);
    },
  );
}
