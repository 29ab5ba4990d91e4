import { importJwk, type RequestContext } from "@fedify/fedify";
import { Endpoints, Image, Person } from "@fedify/vocab";
import { Temporal } from "@js-temporal/polyfill";
import { findUser } from "../src/accounts/accounts.ts";
import type { ActorKeys } from "../src/accounts/keys.ts";
import type { User } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { avatarMediaType, avatarUrl } from "../src/media/avatars.ts";

const userPath = /^users\/([a-z0-9_]{3,32})$/;

/** The actor identifier of a user in the shared dispatcher: `users/<username>`. */
export function userIdentifier(username: string): string {
  return `users/${username}`;
}

/** The user an actor identifier names, if it names one; checks the form before the database. */
export async function userOf(deps: Deps, identifier: string): Promise<User | undefined> {
  const username = userPath.exec(identifier)?.[1];
  return username ? await findUser(deps, username) : undefined;
}

/** An actor's RSA and Ed25519 key pairs, RSA first (it is the one Mastodon reads). */
export async function keyPairsOf(keys: { readonly [K in keyof ActorKeys]: unknown }): Promise<CryptoKeyPair[]> {
  return await Promise.all(
    [
      [keys.rsaPrivateKey, keys.rsaPublicKey],
      [keys.ed25519PrivateKey, keys.ed25519PublicKey],
    ].map(async ([privateKey, publicKey]) => ({
      privateKey: await importJwk(privateKey as JsonWebKey, "private"),
      publicKey: await importJwk(publicKey as JsonWebKey, "public"),
    })),
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The bio as the HTML that `summary` carries: escaped text, paragraphs and line breaks. */
export function bioHtml(bio: string): string | null {
  if (!bio) return null;
  return bio
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${escapeHtml(paragraph).replace(/\n/g, "<br>")}</p>`)
    .join("");
}

/** A user as an ActivityPub `Person`: name, bio, avatar, both keys (FEP-521a multikeys). */
export async function toPerson(ctx: RequestContext<Deps>, identifier: string, user: User): Promise<Person> {
  const keys = await ctx.getActorKeyPairs(identifier);
  const icon = avatarUrl(ctx.data, user.avatar);
  return new Person({
    id: ctx.getActorUri(identifier),
    preferredUsername: user.username,
    name: user.displayName,
    summary: bioHtml(user.bio),
    url: ctx.getActorUri(identifier),
    icon: icon && user.avatar ? new Image({ url: new URL(icon), mediaType: avatarMediaType(user.avatar) }) : null,
    published: Temporal.Instant.fromEpochMilliseconds(user.createdAt.getTime()),
    inbox: ctx.getInboxUri(identifier),
    endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
    manuallyApprovesFollowers: false,
    discoverable: true,
    publicKey: keys[0]?.cryptographicKey,
    assertionMethods: keys.map((k) => k.multikey),
  });
}
