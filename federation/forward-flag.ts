/**
 * Forwarding a report to the reported person's server, as Mastodon does: a `Flag` from the
 * instance actor naming the reported actor and their objects, with the comment as `content`,
 * and never the reporter.
 * @module
 */
import type { Context } from "@fedify/fedify";
import { Flag } from "@fedify/vocab";
import { eq } from "drizzle-orm";
import { actors } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { AppError } from "../src/errors.ts";
import { instanceActorIdentifier } from "./federation.ts";
import { recipient } from "./remote.ts";

/**
 * Forwards a report to the reported actor's server: a `Flag` from this server's instance
 * actor, to their server's shared inbox (else their inbox).
 */
export async function forwardFlag(
  ctx: Context<Deps>,
  actorId: string,
  objectIris: readonly string[],
  comment: string,
  reportId: string,
): Promise<void> {
  const [target] = await ctx.data.db.select().from(actors).where(eq(actors.id, actorId));
  if (target?.iri == null || target.inbox == null) throw new AppError("user_not_found", "No such remote user.");
  const instance = ctx.getActorUri(instanceActorIdentifier);
  const flag = new Flag({
    id: new URL(`${instance.href}#flag-${reportId}`),
    actor: instance,
    objects: [new URL(target.iri), ...objectIris.map((iri) => new URL(iri))],
    content: comment,
    to: new URL(target.iri),
  });
  await ctx.sendActivity({ identifier: instanceActorIdentifier }, recipient(target), flag, {
    preferSharedInbox: true,
  });
}
