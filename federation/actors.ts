import type { Context } from "@fedify/fedify";
import { Endpoints, Image } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import type { Deps } from "../src/deps.ts";
import { avatarMediaType, avatarUrl } from "../src/media/avatars.ts";

/** Text as HTML: the five characters that could start markup or end an attribute, escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A bio or topic as the HTML that `summary` carries: escaped text, paragraphs, line breaks. */
function summaryHtml(text: string): string | null {
  if (!text) return null;
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>")}</p>`)
    .join("");
}

/**
 * The properties every actor of ours shares, users' `Person`s and rooms' `Group`s alike: ids
 * and inboxes from the dispatcher's paths, the text as escaped HTML, the avatar as an `Image`,
 * and both keys (RSA as `publicKey`, both as FEP-521a multikeys).
 */
export async function actorProperties(
  ctx: Context<Deps>,
  identifier: string,
  actor: { preferredUsername: string; name: string; text: string; avatar: string | null; createdAt: Date },
) {
  const keys = await ctx.getActorKeyPairs(identifier);
  const icon = avatarUrl(ctx.data, actor.avatar);
  return {
    id: ctx.getActorUri(identifier),
    preferredUsername: actor.preferredUsername,
    name: actor.name,
    summary: summaryHtml(actor.text),
    url: ctx.getActorUri(identifier),
    icon: icon && actor.avatar ? new Image({ url: new URL(icon), mediaType: avatarMediaType(actor.avatar) }) : null,
    published: Temporal.Instant.fromEpochMilliseconds(actor.createdAt.getTime()),
    inbox: ctx.getInboxUri(identifier),
    outbox: ctx.getOutboxUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    manuallyApprovesFollowers: false,
    discoverable: true,
    publicKey: keys[0]?.cryptographicKey,
    assertionMethods: keys.map((k) => k.multikey),
  };
}
