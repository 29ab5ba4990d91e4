import { and, desc, eq, or } from "drizzle-orm";
import { uuidv7 } from "uuidv7";
import type { DatabaseLike } from "../db/client.ts";
import { type ContactRequest, contactRequests, contacts } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { AppError } from "../errors.ts";
import { markContactRequestRead, notifyActor } from "../notifications/notifications.ts";
import { type ActorProfile, actorByHandle, actorProfiles } from "../rooms/actors.ts";
import { remote } from "../rooms/rooms.ts";
import { appendEvents } from "../stream/events.ts";
import { onlineActors } from "../stream/presence.ts";
import { assertNotBlocked } from "./blocks.ts";

/** Where two actors stand, from one side: contacts, a request either way, or nothing. */
export type ContactState = "contact" | "incoming" | "outgoing" | "none";

/**
 * Tells each side's sessions where they now stand with the other (`contact.updated`), in the
 * caller's transaction.
 */
async function announce(
  deps: Deps,
  tx: DatabaseLike,
  changes: readonly { to: string; about: string; state: ContactState; requestId?: string }[],
): Promise<void> {
  const profiles = await actorProfiles(
    { ...deps, db: tx },
    changes.map((c) => c.about),
  );
  await appendEvents(
    tx,
    changes.map((c) => ({
      type: "contact.updated" as const,
      actorId: c.to,
      data: { actor: profiles.get(c.about) ?? null, state: c.state, requestId: c.requestId ?? null },
    })),
  );
}

async function addContacts(deps: Deps, tx: DatabaseLike, a: string, b: string): Promise<void> {
  await tx
    .insert(contacts)
    .values([
      { ownerId: a, contactId: b },
      { ownerId: b, contactId: a },
    ])
    .onConflictDoNothing();
  await announce(deps, tx, [
    { to: a, about: b, state: "contact" },
    { to: b, about: a, state: "contact" },
  ]);
}

/**
 * Asks a user to become a contact. If they had asked the caller already, both become contacts
 * at once; asking twice, or asking a contact, changes nothing.
 * @returns Where the caller now stands with them.
 * @throws {AppError} `user_not_found`; `validation_failed` for oneself; `forbidden` when either
 *   side blocks the other.
 */
export async function requestContact(
  deps: Deps,
  actorId: string,
  handle: string,
): Promise<{ state: ContactState; actor: ActorProfile; requestId: string | null }> {
  const target = await actorByHandle(deps, handle);
  if (target.id === actorId) throw new AppError("validation_failed", "You cannot add yourself as a contact.");
  await assertNotBlocked(deps, actorId, [target.id], "send a contact request to");
  const requestId = uuidv7();
  // A request to someone on another server is a `Follow` of their `Person`, named by this IRI.
  const iri = target.local ? null : `${deps.config.origin}/contact-requests/${requestId}`;
  const result = await deps.db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ id: contacts.contactId })
      .from(contacts)
      .where(and(eq(contacts.ownerId, actorId), eq(contacts.contactId, target.id)));
    if (existing) return { state: "contact" as const, requestId: null };
    const [theirs] = await tx
      .delete(contactRequests)
      .where(and(eq(contactRequests.fromId, target.id), eq(contactRequests.toId, actorId)))
      .returning();
    if (theirs) {
      await addContacts(deps, tx, actorId, target.id);
      return { state: "contact" as const, requestId: null, answered: theirs };
    }
    const [created] = await tx
      .insert(contactRequests)
      .values({ id: requestId, fromId: actorId, toId: target.id, iri })
      .onConflictDoNothing()
      .returning();
    if (created == null) {
      const [mine] = await tx
        .select({ id: contactRequests.id })
        .from(contactRequests)
        .where(and(eq(contactRequests.fromId, actorId), eq(contactRequests.toId, target.id)));
      return { state: "outgoing" as const, requestId: mine?.id ?? null };
    }
    if (target.local) {
      await notifyActor(deps, tx, {
        actorId: target.id,
        type: "contact_request",
        fromId: actorId,
        data: { requestId: created.id },
      });
    }
    await announce(deps, tx, [
      { to: actorId, about: target.id, state: "outgoing", requestId: created.id },
      { to: target.id, about: actorId, state: "incoming", requestId: created.id },
    ]);
    return { state: "outgoing" as const, requestId: created.id };
  });
  if (!target.local) {
    // Their request, answered by asking back, is accepted; a new one is sent.
    const answered = "answered" in result ? result.answered : undefined;
    if (answered?.iri) await remote(deps).sendContact(actorId, target.id, "accept", answered.iri);
    else if (result.state === "outgoing" && result.requestId === requestId && iri) {
      await remote(deps).sendContact(actorId, target.id, "follow", iri);
    }
  }
  const actor = (await actorProfiles(deps, [target.id])).get(target.id);
  if (actor == null) throw new AppError("user_not_found", "No such user.");
  return { state: result.state, requestId: result.requestId, actor };
}

/**
 * A request from someone on another server (their `Follow` of a local user). If the local
 * user had asked them already, they become contacts at once (and the caller answers `Accept`).
 * @returns Whether they are contacts now.
 * @throws {AppError} `forbidden` when either side blocks the other.
 */
export async function receiveContactRequest(deps: Deps, fromId: string, toId: string, iri: string): Promise<boolean> {
  await assertNotBlocked(deps, fromId, [toId], "send a contact request to");
  return await deps.db.transaction(async (tx) => {
    const [already] = await tx
      .select({ id: contacts.contactId })
      .from(contacts)
      .where(and(eq(contacts.ownerId, toId), eq(contacts.contactId, fromId)));
    if (already) return true;
    const [ours] = await tx
      .delete(contactRequests)
      .where(and(eq(contactRequests.fromId, toId), eq(contactRequests.toId, fromId)))
      .returning();
    if (ours) {
      await addContacts(deps, tx, toId, fromId);
      return true;
    }
    const [created] = await tx
      .insert(contactRequests)
      .values({ id: uuidv7(), fromId, toId, iri })
      .onConflictDoNothing()
      .returning();
    if (created) {
      await notifyActor(deps, tx, { actorId: toId, type: "contact_request", fromId, data: { requestId: created.id } });
      await announce(deps, tx, [{ to: toId, about: fromId, state: "incoming", requestId: created.id }]);
    }
    return false;
  });
}

/** A contact request by its ActivityPub IRI (a local user's, answered by the other server). */
export async function contactRequestByIri(deps: Pick<Deps, "db">, iri: string) {
  const [request] = await deps.db.select().from(contactRequests).where(eq(contactRequests.iri, iri));
  return request;
}

/**
 * The other server answered a local user's request (by its IRI): accepted, they are contacts;
 * rejected, the request goes. Also ends a contact when the other side withdraws (`undo`).
 */
export async function settleRemoteContact(
  deps: Deps,
  remoteId: string,
  localId: string,
  iri: string,
  outcome: "accepted" | "rejected" | "withdrawn",
): Promise<void> {
  await deps.db.transaction(async (tx) => {
    const [request] = await tx
      .delete(contactRequests)
      .where(
        and(
          eq(contactRequests.iri, iri),
          outcome === "withdrawn"
            ? and(eq(contactRequests.fromId, remoteId), eq(contactRequests.toId, localId))
            : and(eq(contactRequests.toId, remoteId), eq(contactRequests.fromId, localId)),
        ),
      )
      .returning();
    if (request && outcome === "accepted") return await addContacts(deps, tx, request.fromId, request.toId);
    if (request) return await announce(deps, tx, [{ to: localId, about: remoteId, state: "none" }]);
    // An unfollow of a contact ends it.
    if (outcome === "withdrawn" && (await dropContactsBetween(tx, localId, remoteId))) {
      await announce(deps, tx, [{ to: localId, about: remoteId, state: "none" }]);
    }
  });
}

/**
 * Answers or withdraws a pending request: the recipient accepts or declines it, the sender
 * cancels it. A declined sender is not told (their request simply stays unanswered to them
 * until they look again).
 * @throws {AppError} `contact_request_not_found` (also for a request of someone else's).
 */
export async function settleContactRequest(
  deps: Deps,
  actorId: string,
  requestId: string,
  action: "accept" | "decline" | "cancel",
): Promise<void> {
  let settled: ContactRequest | undefined;
  await deps.db.transaction(async (tx) => {
    const mine = action === "cancel" ? eq(contactRequests.fromId, actorId) : eq(contactRequests.toId, actorId);
    const [request] = await tx
      .delete(contactRequests)
      .where(and(eq(contactRequests.id, requestId), mine))
      .returning();
    if (request == null) throw new AppError("contact_request_not_found", "No such contact request.");
    settled = request;
    // Answered (or withdrawn), the request leaves nothing unread in the bell.
    await markContactRequestRead(tx, request.toId, request.id);
    if (action === "accept") return await addContacts(deps, tx, request.fromId, request.toId);
    await announce(deps, tx, [
      { to: actorId, about: action === "cancel" ? request.toId : request.fromId, state: "none" },
      ...(action === "cancel" ? [{ to: request.toId, about: actorId, state: "none" as const }] : []),
    ]);
  });
  // A request between servers is answered (or withdrawn) on the other one too.
  if (settled?.iri) {
    const other = action === "cancel" ? settled.toId : settled.fromId;
    const verb = action === "accept" ? "accept" : action === "decline" ? "reject" : "undo";
    await remote(deps).sendContact(actorId, other, verb, settled.iri);
  }
}

/**
 * Ends a contact on both sides; removing someone who is not a contact is a no-op.
 * @throws {AppError} `user_not_found`.
 */
export async function removeContact(deps: Deps, actorId: string, handle: string): Promise<void> {
  const target = await actorByHandle(deps, handle);
  const removed = await deps.db.transaction(async (tx) => {
    const removed = await dropContactsBetween(tx, actorId, target.id);
    if (removed) {
      await announce(deps, tx, [
        { to: actorId, about: target.id, state: "none" },
        { to: target.id, about: actorId, state: "none" },
      ]);
    }
    return removed;
  });
  // Their server ends it too: an unfollow.
  if (removed && !target.local) {
    await remote(deps).sendContact(actorId, target.id, "undo", `${deps.config.origin}/contact-requests/${uuidv7()}`);
  }
}

/**
 * Deletes contacts and pending requests between two actors, both ways (a block does this).
 * @returns Whether anything was deleted.
 */
export async function dropContactsBetween(tx: DatabaseLike, a: string, b: string): Promise<boolean> {
  const dropped = await tx
    .delete(contacts)
    .where(
      or(
        and(eq(contacts.ownerId, a), eq(contacts.contactId, b)),
        and(eq(contacts.ownerId, b), eq(contacts.contactId, a)),
      ),
    )
    .returning({ id: contacts.ownerId });
  const requests = await tx
    .delete(contactRequests)
    .where(
      or(
        and(eq(contactRequests.fromId, a), eq(contactRequests.toId, b)),
        and(eq(contactRequests.fromId, b), eq(contactRequests.toId, a)),
      ),
    )
    .returning({ id: contactRequests.id });
  return dropped.length + requests.length > 0;
}

function requestView(request: ContactRequest, actor: ActorProfile) {
  return { id: request.id, actor, createdAt: request.createdAt.toISOString() };
}

/** The caller's contacts with their presence, and pending requests both ways, newest first. */
export async function listContacts(deps: Deps, actorId: string) {
  const rows = await deps.db
    .select()
    .from(contacts)
    .where(eq(contacts.ownerId, actorId))
    .orderBy(desc(contacts.createdAt));
  const requests = await deps.db
    .select()
    .from(contactRequests)
    .where(or(eq(contactRequests.fromId, actorId), eq(contactRequests.toId, actorId)))
    .orderBy(desc(contactRequests.id));
  const others = [...rows.map((r) => r.contactId), ...requests.map((r) => (r.fromId === actorId ? r.toId : r.fromId))];
  const profiles = await actorProfiles(deps, others);
  const online = await onlineActors(
    deps.db,
    rows.map((r) => r.contactId),
  );
  const withProfile = <T>(id: string, make: (actor: ActorProfile) => T): T[] => {
    const actor = profiles.get(id);
    return actor ? [make(actor)] : [];
  };
  return {
    contacts: rows.flatMap((r) =>
      withProfile(r.contactId, (actor) => ({
        actor,
        presence: online.has(r.contactId) ? ("online" as const) : ("offline" as const),
        since: r.createdAt.toISOString(),
      })),
    ),
    incoming: requests.flatMap((r) => (r.toId === actorId ? withProfile(r.fromId, (a) => requestView(r, a)) : [])),
    outgoing: requests.flatMap((r) => (r.fromId === actorId ? withProfile(r.toId, (a) => requestView(r, a)) : [])),
  };
}
