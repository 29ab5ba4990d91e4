import type { Hono } from "hono";
import { z } from "zod";
import type { Api } from "../http/api.ts";
import type { Env } from "../http/app.ts";
import { authenticated } from "../http/auth.ts";
import { enforceRateLimits } from "../http/rate-limit.ts";
import { messageSchema } from "../messages/routes.ts";
import { filterNames, hasValues } from "./query.ts";
import { maxOffset, rankedMatches, searchMessages } from "./search.ts";

/** The longest search text accepted, in characters. */
export const maxSearchLength = 500;

const searchQuery = z.object({
  q: z
    .string()
    .max(maxSearchLength, `expected at most ${maxSearchLength} characters`)
    .describe(
      `Words (all must match), "quoted phrases", word* prefixes, and the filters ${filterNames
        .map((f) => `\`${f}:\``)
        .join(", ")}: \`from:\` and \`mentions:\` take a handle, \`in:\` a room's name or id, ` +
        `\`has:\` one of ${hasValues.join(", ")}, \`before:\` and \`after:\` a date (YYYY-MM-DD, UTC; ` +
        "both exclusive) or an ISO date-time. Repeating a filter matches any of its values.",
    ),
  limit: z.coerce.number().int().min(1).max(50).default(20),
  offset: z.coerce.number().int().min(0).max(maxOffset).default(0).describe("From `nextOffset` of the previous page"),
});

export const searchResultSchema = z.object({
  message: messageSchema,
  room: z.object({ id: z.string(), name: z.string() }),
  snippet: z
    .object({
      text: z.string().describe("Plain text: render it as text, never as HTML"),
      highlights: z
        .array(z.tuple([z.number(), z.number()]))
        .describe("Where the query matched: [start, end) offsets into `text` in UTF-16 code units"),
    })
    .describe("The passage that matched (the start of the message when only filters were given)"),
  rank: z
    .number()
    .describe(
      `Relevance (\`ts_rank_cd\`, normalised by length; 0 without words): the newest ${rankedMatches} matches come in its order, higher first`,
    ),
});

/** Mounts the search endpoint. */
export function searchRoutes(api: Api, app: Hono<Env>): void {
  api.route(
    app,
    {
      method: "get",
      path: "/api/v1/search",
      tag: "search",
      summary: "Search the messages of every room one is a member of",
      description:
        `The newest ${rankedMatches} matches, ranked by relevance (newest first on ties), then older ` +
        "matches newest first. Deleted messages are not found, edited ones by their " +
        "current text; messages of people one blocks are left out. Without words, the newest messages " +
        "that pass the filters. Open a result with `GET /rooms/:roomId/messages?around=<seq>`.",
      auth: true,
      query: searchQuery,
      responses: {
        200: {
          description: "Results",
          schema: z.object({
            results: z.array(searchResultSchema),
            nextOffset: z.number().nullable().describe("The offset of the next page, or null at the end"),
          }),
        },
      },
      errors: ["validation_failed"],
    },
    async (c, { query }) => {
      const deps = c.var.deps;
      const actorId = authenticated(c).user.id;
      enforceRateLimits(deps, [
        {
          key: `search:${actorId}`,
          limit: Math.max(1, Math.round(60 * deps.config.rateLimitFactor)),
          windowSeconds: 60,
        },
      ]);
      return c.json(await searchMessages(deps, actorId, query.q, query));
    },
  );
}
