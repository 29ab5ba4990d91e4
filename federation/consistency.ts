import type { Federation } from "@fedify/fedify";
import { eq, sql } from "drizzle-orm";
import type { ConsistencyCheck, Finding } from "../src/consistency.ts";
import { queryRows } from "../src/db/client.ts";
import { type Room, rooms } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { backfill, memberLoader } from "./inbox-mirror.ts";

const log = logger("consistency");

// Mirrors someone here is in: the only ones kept current, and the only ones we may read when private.
const lived = sql`r.iri is not null and r.deleted_at is null and exists (
  select 1 from room_members lm join actors la on la.id = lm.actor_id
  where lm.room_id = r.id and la.iri is null)`;

async function mirror(deps: Deps, id: string): Promise<Room | undefined> {
  const [row] = await deps.db.select().from(rooms).where(eq(rooms.id, id));
  return row;
}

// The numbers a mirror holds: its messages, and those its room's history listed as deleted.
const numbers = sql`numbers as (select room_id, seq from messages
  union select room_id, seq from tombstones where seq is not null)`;

/** The first number missing in a mirror after the earliest it holds (a join fetches only the latest page). */
async function firstGap(deps: Deps, roomId: string): Promise<number | undefined> {
  const [row] = await queryRows<{ first: number }>(
    deps.db,
    sql`with ${numbers}
        select n.seq + 1 as first from numbers n join rooms r on r.id = n.room_id
        where n.room_id = ${roomId} and n.seq < r.last_seq
          and not exists (select 1 from numbers o where o.room_id = n.room_id and o.seq = n.seq + 1)
        order by n.seq limit 1`,
  );
  return row == null ? undefined : Number(row.first);
}

/**
 * The checks of mirrored remote rooms: holes in their numbering, a mirror behind its room, and
 * pending joins that contradict the memberships. The first two are repaired from the room's
 * history on its own server, so they need the federation.
 */
export function mirrorChecks(federation: Federation<Deps>): ConsistencyCheck[] {
  const context = (deps: Deps) => federation.createContext(new URL(deps.config.origin), deps);

  const gaps: ConsistencyCheck = {
    name: "mirrors.gaps",
    async find(deps) {
      const rows = await queryRows<{ id: string; held: number; low: number; lastSeq: number }>(
        deps.db,
        sql`with ${numbers}
            select r.id, count(n.seq) as held, min(n.seq) as low, r.last_seq as "lastSeq"
            from rooms r join numbers n on n.room_id = r.id
            where ${lived} group by r.id having count(n.seq) < r.last_seq - min(n.seq) + 1`,
      );
      return rows.map((r) => ({
        check: this.name,
        subject: r.id,
        problem: `${Number(r.lastSeq) - Number(r.low) + 1 - Number(r.held)} of messages ${r.low}–${r.lastSeq} missing`,
        repair: "fetch them from the room's history",
      }));
    },
    async fix(deps, findings) {
      for (const { subject } of findings) {
        const room = await mirror(deps, subject);
        const first = await firstGap(deps, subject);
        if (room && first != null) await backfill(context(deps), room, first - 1);
      }
    },
  };

  const behind: ConsistencyCheck = {
    name: "mirrors.behind",
    async find(deps) {
      const found: Finding[] = [];
      const rows = await queryRows<{ id: string }>(deps.db, sql`select r.id from rooms r where ${lived}`);
      for (const { id } of rows) {
        const room = await mirror(deps, id);
        if (room?.outbox == null || room.iri == null) continue;
        const outbox = new URL(room.outbox);
        if (outbox.origin !== new URL(room.iri).origin) continue;
        let document: Record<string, unknown>;
        try {
          document = (await (await memberLoader(context(deps), room))(outbox.href)).document as Record<string, unknown>;
        } catch (error) {
          log.warn("The history of {room} could not be read: {error}", { room: room.iri, error });
          continue;
        }
        // Only a history paged by sequence number (ours: its first page is `?cursor=latest`)
        // counts its messages the way the mirror numbers them.
        const first = typeof document.first === "string" ? URL.parse(document.first) : null;
        const total = document.totalItems;
        if (first?.searchParams.get("cursor") !== "latest" || typeof total !== "number") continue;
        if (total > room.lastSeq) {
          found.push({
            check: this.name,
            subject: id,
            problem: `the room has ${total} messages, the mirror ${room.lastSeq}`,
            repair: "fetch the rest from the room's history",
          });
        }
      }
      return found;
    },
    async fix(deps, findings) {
      for (const { subject } of findings) {
        const room = await mirror(deps, subject);
        if (room) await backfill(context(deps), room, room.lastSeq);
      }
    },
  };

  const pending: ConsistencyCheck = {
    name: "mirrors.pending-joins",
    async find(deps) {
      const rows = await queryRows<{ roomId: string; actorId: string; why: string }>(
        deps.db,
        sql`select p.room_id as "roomId", p.actor_id as "actorId",
              case when r.deleted_at is not null then 'the room is deleted' else 'already a member' end as why
            from pending_joins p join rooms r on r.id = p.room_id
            where r.deleted_at is not null
               or exists (select 1 from room_members m where m.room_id = p.room_id and m.actor_id = p.actor_id)`,
      );
      return rows.map((r) => ({
        check: this.name,
        subject: `${r.roomId}/${r.actorId}`,
        problem: `a pending join, but ${r.why}`,
        repair: "drop the pending join",
      }));
    },
    async fix(deps) {
      await deps.db.execute(sql`delete from pending_joins p using rooms r
        where r.id = p.room_id and (r.deleted_at is not null
          or exists (select 1 from room_members m where m.room_id = p.room_id and m.actor_id = p.actor_id))`);
    },
  };

  return [pending, gaps, behind];
}
