/**
 * Reports from other servers: a `Flag` (Mastodon's, from its instance actor, with the
 * reported actor and their objects and the comment as `content`) into the queue. Sending one
 * is in forward-flag.ts.
 * @module
 */
import type { InboxContext } from "@fedify/fedify";
import type { Flag } from "@fedify/vocab";
import type { Deps } from "../src/deps.ts";
import { logger } from "../src/log.ts";
import { messageByIri } from "../src/messages/remote.ts";
import { receiveFlag } from "../src/reports/remote.ts";
import { hostedRoom } from "./inbox-messages.ts";
import { actorIdFor, hostOf } from "./remote.ts";

const log = logger("inbox");

/** At most this many objects of a `Flag` are looked at. */
const maxFlagObjects = 50;

/**
 * A `Flag` from another server: the objects it names that are ours (our users' actors, our
 * messages, rooms hosted here) become a report in the queue; whatever else it names is
 * ignored, and one naming nothing of ours is dropped. Lemmy puts the reason in `summary`.
 */
export async function onFlag(ctx: InboxContext<Deps>, flag: Flag): Promise<void> {
  const deps = ctx.data;
  if (flag.id == null || flag.actorId == null) return;
  const ours = new URL(deps.config.origin).origin;
  const found = { users: [] as string[], messages: [] as string[], rooms: [] as string[] };
  for (const iri of flag.objectIds.slice(0, maxFlagObjects)) {
    if (iri.origin !== ours) continue;
    if (iri.pathname.startsWith("/messages/")) {
      const message = await messageByIri(deps, iri.href);
      if (message) found.messages.push(message.id);
      continue;
    }
    const room = await hostedRoom(deps, iri);
    if (room) {
      found.rooms.push(room.id);
      continue;
    }
    const user = await actorIdFor(ctx, iri);
    if (user) found.users.push(user);
  }
  const comment = [flag.content, flag.summary].find((text) => text != null)?.toString() ?? "";
  const report = await receiveFlag(deps, {
    origin: hostOf(flag.actorId),
    iri: flag.id.href,
    comment,
    ...found,
  });
  log.info("A Flag from {actor} {outcome}.", {
    actor: flag.actorId.href,
    outcome: report ? `filed report ${report.id}` : "was dropped",
  });
}
