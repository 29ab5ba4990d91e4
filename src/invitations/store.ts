/**
 * Writing an invitation's row beside the send of its message (send.ts writes it; see the table's
 * comment in schema-invitations.ts for why before the message and without a foreign key).
 * @module
 */
import { eq } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { type Invitation, invitations } from "../db/schema.ts";
import type { InvitationKind } from "./views.ts";

/** A checked invitation, ready to be written with its message. */
export interface NewInvitation {
  readonly kind: InvitationKind;
  readonly title: string;
  readonly link: string | null;
  readonly startsAt: Date | null;
  readonly expiresAt: Date;
  /** Invited actors (members of the room); null: everyone in it. */
  readonly invitees: readonly string[] | null;
}

/** Writes an invitation for a message (a repeat is a no-op). */
export async function storeInvitation(
  db: DatabaseLike,
  messageId: string,
  roomId: string,
  invitation: NewInvitation,
): Promise<void> {
  await db
    .insert(invitations)
    .values({
      messageId,
      roomId,
      kind: invitation.kind,
      title: invitation.title,
      link: invitation.link,
      startsAt: invitation.startsAt,
      expiresAt: invitation.expiresAt,
      invitees: invitation.invitees ? [...invitation.invitees] : null,
    })
    .onConflictDoNothing();
}

/** Removes the row written for a send that did not make its message (a retry, a refusal). */
export async function dropInvitation(db: DatabaseLike, messageId: string): Promise<void> {
  await db.delete(invitations).where(eq(invitations.messageId, messageId));
}

/** The invitation a message carries, if any. */
export async function invitationOf(db: DatabaseLike, messageId: string): Promise<Invitation | undefined> {
  const [row] = await db.select().from(invitations).where(eq(invitations.messageId, messageId));
  return row;
}
