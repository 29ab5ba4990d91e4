/**
 * Search across every room a user may read: the rooms they are a member of, hosted here or
 * mirrored from another server (a mirror's messages are rows like any other). PostgreSQL's
 * full-text search with the `simple` configuration over a GIN expression index (see the
 * migration and ARCHITECTURE.md for why those two).
 */
import { and, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import { type DatabaseLike, queryRows } from "../db/client.ts";
import { messages, roomMembers, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { snippet as plainSnippet } from "../messages/markdown.ts";
import { type MessageView, messageViews } from "../messages/views.ts";
import { actorByHandle } from "../rooms/actors.ts";
import { isEmptyQuery, parseQuery, type SearchQuery } from "./query.ts";
import { highlightedSnippet, parseHeadline, type Snippet } from "./snippets.ts";

/**
 * Matches, newest first, that are ranked for one query at most. Ranking reads every
 * candidate's text, so a word found in half the archive would otherwise cost a scan of half
 * the archive; past this many, the newest matches are the ones ranked.
 */
export const maxCandidates = 1000;
/** How deep a reader may page into the ranked results. */
export const maxOffset = maxCandidates;

/** One search result: the message as history shows it, its room, and the matching passage. */
export interface SearchResult {
  readonly message: MessageView;
  readonly room: { readonly id: string; readonly name: string };
  readonly snippet: Snippet;
  readonly rank: number;
}

/** The text search configuration of `messages.search` (see the schema for why `simple`). */
const config = sql.raw("'simple'::regconfig");

/** The tsquery of a query's words, phrases and prefixes, all required; every value a bind parameter. */
function tsquery(query: SearchQuery): SQL {
  const parts = query.terms.map((term) =>
    term.phrase
      ? sql`phraseto_tsquery(${config}, ${term.text})`
      : term.prefix
        ? // to_tsquery's syntax applies here, so the word goes in as one quoted lexeme.
          sql`to_tsquery(${config}, quote_literal(${term.text}) || ':*')`
        : sql`plainto_tsquery(${config}, ${term.text})`,
  );
  return sql.join(parts, sql` && `);
}

/** Actor ids for handles this server knows; handles nobody here has used are left out. */
async function actorIds(deps: Deps, handles: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const handle of handles) {
    try {
      ids.push((await actorByHandle(deps, handle, { stored: true })).id);
    } catch (error) {
      if (!(error instanceof AppError && error.code === "user_not_found")) throw error;
    }
  }
  return ids;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rooms the actor may read (a member, room not deleted), narrowed by `in:` (name or id). */
async function readableRooms(
  db: DatabaseLike,
  actorId: string,
  names: readonly string[],
): Promise<Map<string, { id: string; name: string }>> {
  const named =
    names.length === 0
      ? undefined
      : sql`(${sql.join(
          names.map((name) =>
            uuidPattern.test(name)
              ? sql`${rooms.id} = ${name.toLowerCase()}::uuid`
              : sql`lower(${rooms.name}) = lower(${name.replace(/^#/, "")})`,
          ),
          sql` or `,
        )})`;
  const rows = await db
    .select({ id: rooms.id, name: rooms.name })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(and(eq(roomMembers.actorId, actorId), isNull(rooms.deletedAt), named));
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Searches the messages an actor may read.
 * @param text The search box's text (see query.ts for the language).
 * @param page `limit` results after skipping `offset` (at most {@link maxOffset}).
 * @throws {AppError} `validation_failed` when the text has terms the language refuses or asks
 *   for nothing, with one detail per offending term.
 */
export async function searchMessages(
  deps: Deps,
  actorId: string,
  text: string,
  page: { limit: number; offset: number },
): Promise<{ results: SearchResult[]; nextOffset: number | null }> {
  const { query, errors } = parseQuery(text);
  if (errors.length > 0) {
    throw new AppError("validation_failed", "Some search terms are not valid.", {
      details: errors.map((e) => ({ path: "q", in: "query", message: `${e.term}: ${e.message}` })),
    });
  }
  if (isEmptyQuery(query)) {
    throw new AppError("validation_failed", "Search for a word or use a filter.", {
      details: [{ path: "q", in: "query", message: "expected a word, a phrase or a filter" }],
    });
  }
  const none = { results: [], nextOffset: null };
  const readable = await readableRooms(deps.db, actorId, query.in);
  if (readable.size === 0) return none;
  const authors = query.from.length ? await actorIds(deps, query.from) : null;
  if (authors?.length === 0) return none;
  const mentioned = query.mentions.length ? await actorIds(deps, query.mentions) : null;
  if (mentioned?.length === 0) return none;

  const q = query.terms.length ? tsquery(query) : null;
  const roomIds = sql`${`{${[...readable.keys()].join(",")}}`}::uuid[]`;
  const conditions: SQL[] = [
    sql`m.room_id = any(${roomIds})`,
    sql`m.deleted_at is null`,
    // A blocked author's messages are not shown in results at all (history collapses them).
    sql`m.author_id not in (select blocked_id from blocks where blocker_id = ${actorId})`,
  ];
  if (q) conditions.push(sql`m.search @@ (${q})`);
  if (authors) conditions.push(sql`m.author_id = any(${`{${authors.join(",")}}`}::uuid[])`);
  if (mentioned) {
    conditions.push(sql`exists (select 1 from message_mentions mm where mm.message_id = m.id
      and mm.actor_id = any(${`{${mentioned.join(",")}}`}::uuid[]))`);
  }
  for (const has of query.has) {
    if (has === "link") {
      // An anchor that is not a mention's (ours and Mastodon's both carry the class "mention").
      conditions.push(sql`m.html ~ '<a\\s(?![^>]*class="[^"]*\\mmention\\M)'`);
    } else {
      conditions.push(sql`exists (select 1 from attachments a where a.message_id = m.id
        ${has === "image" ? sql`and a.media_type like 'image/%'` : sql``})`);
    }
  }
  if (query.before) conditions.push(sql`m.created_at < ${query.before.toISOString()}::timestamptz`);
  if (query.after) conditions.push(sql`m.created_at >= ${query.after.toISOString()}::timestamptz`);

  const where = sql.join(conditions, sql` and `);
  const rows = await queryRows<{ id: string; rank: number; headline: string | null }>(
    deps.db,
    q
      ? // The newest candidates (bounded; ids are UUIDv7, so id order is time order), ranked,
        // and only the page's rows get a headline, the costly part.
        sql`select p.id, p.rank, ${highlightedSnippet(sql`p.content`, q, config)} as headline
          from (select c.id, c.content, ts_rank_cd(c.search, ${q}, 1)::float8 as rank
                from (select m.id, m.content, m.search from messages m where ${where}
                      order by m.id desc limit ${maxCandidates}) c
                order by rank desc, c.id desc
                limit ${page.limit + 1} offset ${page.offset}) p
          order by p.rank desc, p.id desc`
      : // Filters alone: the newest that pass them.
        sql`select m.id, 0::float8 as rank, null as headline from messages m where ${where}
          order by m.id desc limit ${page.limit + 1} offset ${page.offset}`,
  );
  const more = rows.length > page.limit;
  const hits = rows.slice(0, page.limit);
  if (hits.length === 0) return none;
  const found = await deps.db
    .select()
    .from(messages)
    .where(
      inArray(
        messages.id,
        hits.map((h) => h.id),
      ),
    );
  const views = new Map((await messageViews(deps, found, actorId)).map((v) => [v.id, v]));
  const results: SearchResult[] = [];
  for (const hit of hits) {
    const message = views.get(hit.id);
    const room = message && readable.get(message.roomId);
    if (!message || !room) continue;
    const snippet =
      hit.headline != null ? parseHeadline(hit.headline) : { text: plainSnippet(message.content, 200), highlights: [] };
    results.push({ message, room, snippet, rank: Number(hit.rank) });
  }
  return { results, nextOffset: more && page.offset + page.limit < maxOffset ? page.offset + page.limit : null };
}
