import { type Context, importJwk } from "@fedify/fedify";
import { Person, PropertyValue, Service } from "@fedify/vocab";
import { and, eq, isNotNull } from "drizzle-orm";
import { findUser } from "../src/accounts/accounts.ts";
import type { ActorKeys } from "../src/accounts/keys.ts";
import { fieldLink, fieldsOf } from "../src/accounts/profile-fields.ts";
import { type User, users } from "../src/db/schema.ts";
import type { Deps } from "../src/deps.ts";
import { outgoingTextEmoji } from "../src/emoji/usage.ts";
import { actorProperties, escapeHtml } from "./actors.ts";
import { emojiObject } from "./emoji.ts";

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

/**
 * The deleted account an actor identifier names, if it names one: its actor answers 410 Gone
 * (a `Tombstone`), and its keys still sign the `Delete` of it.
 */
export async function deletedUserOf(deps: Deps, identifier: string): Promise<User | undefined> {
  const username = userPath.exec(identifier)?.[1];
  if (username == null) return undefined;
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.username, username), isNotNull(users.deletedAt)));
  return user;
}

/** An actor's RSA and Ed25519 key pairs, RSA first (it is the one Mastodon reads). */
export async function keyPairsOf(keys: ActorKeys): Promise<CryptoKeyPair[]> {
  return await Promise.all(
    (
      [
        [keys.rsaPrivateKey, keys.rsaPublicKey],
        [keys.ed25519PrivateKey, keys.ed25519PublicKey],
      ] as const
    ).map(async ([privateKey, publicKey]) => ({
      privateKey: await importJwk(privateKey, "private"),
      publicKey: await importJwk(publicKey, "public"),
    })),
  );
}

/**
 * A profile field's value as Mastodon sends it: HTML, a link (with `rel="me"`) when the value
 * is a web address, else escaped text.
 */
function fieldValueHtml(value: string): string {
  const link = fieldLink(value);
  return link
    ? `<a href="${escapeHtml(link.href)}" rel="me nofollow noopener noreferrer" target="_blank">${escapeHtml(value)}</a>`
    : escapeHtml(value);
}

/**
 * A user as an ActivityPub `Person`: name, bio, avatar, both keys (FEP-521a multikeys), and the
 * profile fields as `PropertyValue` attachments (Mastodon's convention). A bot is the same actor
 * as a `Service`, which Mastodon and others show as a bot.
 */
export async function toPerson(ctx: Context<Deps>, identifier: string, user: User): Promise<Person | Service> {
  const Actor = user.botOwnerId != null ? Service : Person;
  return new Actor({
    ...(await actorProperties(ctx, identifier, {
      preferredUsername: user.username,
      name: user.displayName,
      text: user.bio,
      avatar: user.avatar,
      createdAt: user.createdAt,
    })),
    // The custom emoji of ours the display name uses, as Mastodon tags a profile's.
    tags: (await outgoingTextEmoji(ctx.data, user.displayName)).map(emojiObject),
    attachments: (await fieldsOf(ctx.data, user.id)).map(
      (f) => new PropertyValue({ name: f.name, value: fieldValueHtml(f.value) }),
    ),
  });
}
