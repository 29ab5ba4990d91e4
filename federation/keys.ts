import { type Context, importJwk } from "@fedify/fedify";
import { CryptographicKey } from "@fedify/vocab";
import type { Deps } from "../src/deps.ts";
import { publishedRoom, roomKeyPairs } from "../src/rooms/keys.ts";
import { ed25519KeyId } from "./delivery-send.ts";
import { roomIdentifier } from "./rooms.ts";

/** The path of a room's Ed25519 key document (see {@link ed25519KeyId}). */
export const ed25519KeyPath =
  /^\/rooms\/([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\/ed25519-key$/;

/**
 * A room's Ed25519 public key as a `CryptographicKey` document owned by its `Group`: what a
 * server checking our RFC 9421 signatures fetches. Undefined for a room not published here.
 */
export async function ed25519KeyDocument(ctx: Context<Deps>, roomId: string): Promise<unknown> {
  if ((await publishedRoom(ctx.data, roomId)) == null) return undefined;
  const keys = await roomKeyPairs(ctx.data, roomId);
  const group = ctx.getActorUri(roomIdentifier(roomId));
  const key = new CryptographicKey({
    id: ed25519KeyId(group),
    owner: group,
    // The public key only: nothing private is imported to answer a GET.
    publicKey: await importJwk(keys.ed25519PublicKey, "public"),
  });
  return await key.toJsonLd({ contextLoader: ctx.contextLoader });
}
