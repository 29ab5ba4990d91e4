/**
 * Search across every room a user may read: the rooms they are a member of, hosted here or
 * mirrored from another server (a mirror's messages are rows like any other). PostgreSQL's
 * full-text search with the `simple` configuration over a GIN expression index (see the
 * migration and ARCHITECTURE.md for why those two).
 */
import { eq, getTableColumns, inArray, type SQL, sql } from "drizzle-orm";
import { type DatabaseLike, queryRows } from "../db/client.ts";
import { messages, rooms } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { snippet as plainSnippet } from "../messages/markdown.ts";
import { type MessageView, messageViews } from "../messages/views.ts";
import { actorByHandle } from "../rooms/actors.ts";
import { isEmptyQuery, parseQuery, type SearchQuery } from "./query.ts";
import { highlightedSnippet, parseHeadline, type Snippet } from "./snippets.ts";

/**
 * How many of the newest matches are ranked by relevance at the top of the results. Finding
 * them reads their rows (ranking needs each one's words), so the bound keeps a word found in
 * half the archive from costing a read of half the archive; older matches follow, newest first.
 */
export const rankedMatches = 100;
/** How deep a reader may page into the results. */
export const maxOffset = 1000;

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

/**
 * The rooms the actor may read (a member, room not deleted), narrowed by `in:` (name or id),
 * as a condition on `m.room_id`; null when there are none. A list of ids rather than a
 * subquery: the planner weighs how few messages a member of a few rooms may read (hidden in a
 * subquery, a filters-only search of a member of 101 rooms walked the whole archive, 355 ms).
 */
async function readableRooms(db: DatabaseLike, actorId: string, names: readonly string[]): Promise<SQL | null> {
  const named =
    names.length === 0
      ? sql``
      : sql`and (${sql.join(
          names.map((name) =>
            uuidPattern.test(name)
              ? sql`r.id = ${name.toLowerCase()}::uuid`
              : sql`lower(r.name) = lower(${name.replace(/^#/, "")})`,
          ),
          sql` or `,
        )})`;
  const ids = await queryRows<{ room_id: string }>(
    db,
    sql`select rm.room_id from room_members rm join rooms r on r.id = rm.room_id
      where rm.actor_id = ${actorId} and r.deleted_at is null ${named}`,
  );
  if (ids.length === 0) return null;
  return sql`m.room_id = any(${`{${ids.map((r) => r.room_id).join(",")}}`}::uuid[])`;
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
  if (readable == null) return none;
  const authors = query.from.length ? await actorIds(deps, query.from) : null;
  if (authors?.length === 0) return none;
  const mentioned = query.mentions.length ? await actorIds(deps, query.mentions) : null;
  if (mentioned?.length === 0) return none;

  const q = query.terms.length ? tsquery(query) : null;
  const conditions: SQL[] = [
    readable,
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
  // Ranking needs the newest `rankedMatches` whatever the page; filters alone rank nothing.
  const wanted = Math.max(q ? rankedMatches : 0, page.offset + page.limit + 1);
  // One query, planned with this search's values (drizzle sends unnamed statements, so no
  // plan made for a rare word serves a common one): the planner reads the text index and sorts
  // the matches by id when they are few, or walks the primary key newest first and tests each
  // message when they are many, which stops after `wanted` of them.
  const matches = await deps.db.transaction(async (tx) => {
    // Without parallel workers: a walk of the primary key that stops early gains little from
    // them, and each worker builds the room and block lookups again (a filters-only search
    // took 100 ms with two workers on a busy machine, 33 ms without).
    await tx.execute(sql`select set_config('max_parallel_workers_per_gather', '0', true)`);
    const rows = await queryRows<{ id: string; rank: number }>(
      tx,
      sql`select m.id, ${q ? sql`ts_rank_cd(m.search, ${q}, 1)::float8` : sql`0::float8`} as rank
        from messages m where ${where} order by m.id desc limit ${wanted}`,
    );
    return rows.map((row) => ({ id: row.id, rank: Number(row.rank) }));
  });
  const ranked = matches
    .slice(0, rankedMatches)
    .sort((x, y) => y.rank - x.rank || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0));
  const ordered = [...ranked, ...matches.slice(rankedMatches)];
  const hits = ordered.slice(page.offset, page.offset + page.limit);
  const more = ordered.length > page.offset + page.limit;
  if (hits.length === 0) return none;
  // Only the page's rows get a headline, the costly part.
  const found = await deps.db
    .select({
      ...getTableColumns(messages),
      roomName: rooms.name,
      headline: q ? highlightedSnippet(sql`${messages.content}`, q, config) : sql<null>`null`,
    })
    .from(messages)
    .innerJoin(rooms, eq(rooms.id, messages.roomId))
    .where(
      inArray(
        messages.id,
        hits.map((h) => h.id),
      ),
    );
  const extra = new Map(
    found.map(({ id, headline, roomName }) => [id, { headline: headline as string | null, roomName }]),
  );
  const views = new Map(
    (
      await messageViews(
        deps,
        found.map(({ headline: _h, roomName: _r, ...row }) => row),
        actorId,
      )
    ).map((v) => [v.id, v]),
  );
  const results: SearchResult[] = [];
  for (const hit of hits) {
    const message = views.get(hit.id);
    const { headline, roomName } = extra.get(hit.id) ?? {};
    if (!message || roomName == null) continue;
    const room = { id: message.roomId, name: roomName };
    const snippet =
      headline != null ? parseHeadline(headline) : { text: plainSnippet(message.content, 200), highlights: [] };
    results.push({ message, room, snippet, rank: Number(hit.rank) });
  }
  return { results, nextOffset: more && page.offset + page.limit < maxOffset ? page.offset + page.limit : null };
}
