/**
 * How an invitation shows on its message: what, for whom, until when, and who answered.
 * @module
 */
import { asc, inArray } from "drizzle-orm";
import { z } from "zod";
import type { DatabaseLike } from "../db/client.ts";
import { type Invitation, type InvitationResponse, invitationResponses, invitations } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { type ActorProfile, actorProfileSchema, actorProfiles } from "../rooms/actors.ts";

export const invitationKinds = ["game", "call", "event"] as const;
export type InvitationKind = (typeof invitationKinds)[number];
export const invitationAnswers = ["accepted", "declined"] as const;
export type InvitationAnswer = (typeof invitationAnswers)[number];

/** An invitation as the API and the stream show it, on its message (`message.invitation`). */
export interface InvitationView {
  readonly kind: InvitationKind;
  readonly title: string;
  readonly link: string | null;
  readonly startsAt: string | null;
  readonly expiresAt: string;
  /** Whether it had expired when this view was made; clients flip it themselves at `expiresAt`. */
  readonly expired: boolean;
  /** Every member of the room is invited (else `invitees` says who). */
  readonly everyone: boolean;
  readonly invitees: ActorProfile[];
  /** Answers, in the order they were last given. */
  readonly responses: { actor: ActorProfile; answer: InvitationAnswer; answeredAt: string }[];
}

/** The API schema of {@link InvitationView}. */
export const invitationSchema = z
  .object({
    kind: z.enum(invitationKinds),
    title: z.string(),
    link: z.string().nullable().describe("An http(s) address where the game, call or event is"),
    startsAt: z.string().nullable(),
    expiresAt: z.string().describe("After this, answers are refused"),
    expired: z.boolean().describe("Expired when this was served; clients flip it themselves at expiresAt"),
    everyone: z.boolean().describe("Every member of the room is invited"),
    invitees: z.array(actorProfileSchema).describe("Who is invited, when not everyone"),
    responses: z.array(
      z.object({ actor: actorProfileSchema, answer: z.enum(invitationAnswers), answeredAt: z.string() }),
    ),
  })
  .describe("An invitation to a game, a call or an event, with its answers");

/**
 * The invitations of these messages, by message id, in a few queries for the whole page.
 * Deleted messages' are left out by the caller.
 */
export async function invitationViews(
  deps: Pick<Deps, "db" | "config">,
  messageIds: readonly string[],
  now = new Date(),
): Promise<Map<string, InvitationView>> {
  const out = new Map<string, InvitationView>();
  if (messageIds.length === 0) return out;
  const rows = await deps.db.select().from(invitations).where(inArray(invitations.messageId, messageIds));
  if (rows.length === 0) return out;
  const answers = await responsesOf(
    deps.db,
    rows.map((r) => r.messageId),
  );
  const profiles = await actorProfiles(deps as Deps, [
    ...rows.flatMap((r) => r.invitees ?? []),
    ...answers.map((a) => a.actorId),
  ]);
  for (const row of rows) {
    out.set(
      row.messageId,
      toInvitationView(
        row,
        answers.filter((a) => a.messageId === row.messageId),
        profiles,
        now,
      ),
    );
  }
  return out;
}

async function responsesOf(db: DatabaseLike, messageIds: readonly string[]): Promise<InvitationResponse[]> {
  return await db
    .select()
    .from(invitationResponses)
    .where(inArray(invitationResponses.messageId, [...messageIds]))
    .orderBy(asc(invitationResponses.answeredAt));
}

/** One invitation's view from its row, its answers and the profiles they name. */
export function toInvitationView(
  row: Invitation,
  answers: readonly InvitationResponse[],
  profiles: Map<string, ActorProfile>,
  now = new Date(),
): InvitationView {
  return {
    kind: row.kind,
    title: row.title,
    link: row.link,
    startsAt: row.startsAt?.toISOString() ?? null,
    expiresAt: row.expiresAt.toISOString(),
    expired: row.expiresAt.getTime() <= now.getTime(),
    everyone: row.invitees == null,
    invitees: (row.invitees ?? []).flatMap((id) => {
      const profile = profiles.get(id);
      return profile ? [profile] : [];
    }),
    responses: answers.flatMap((a) => {
      const actor = profiles.get(a.actorId);
      return actor ? [{ actor, answer: a.answer, answeredAt: a.answeredAt.toISOString() }] : [];
    }),
  };
}
