/**
 * Profile fields: up to four labels and values on a profile (a website, pronouns, a
 * fediverse account), as on Mastodon. Local users set theirs with `PATCH /api/v1/me`; remote
 * actors' come from their `Person`'s `PropertyValue` attachments. A value that is a web
 * address may be verified (profile-links.ts); a change of value forgets the verification.
 * @module
 */
import { asc, eq, inArray } from "drizzle-orm";
import type { DatabaseLike } from "../db/client.ts";
import { profileFields } from "../db/schema.ts";
import type { Deps } from "../deps.ts";

/** At most this many fields per profile (Mastodon's default). */
export const maxProfileFields = 4;
/** The longest label and value, in code points (Mastodon's limits). */
export const profileFieldLimits = { name: 255, value: 255 } as const;

/** A field as given: plain text, already checked. */
export interface ProfileFieldInput {
  readonly name: string;
  readonly value: string;
}

/** A field as shown. */
export interface ProfileFieldView {
  readonly name: string;
  readonly value: string;
  /** When this server last found the page at `value` linking back with `rel="me"`, or null. */
  readonly verifiedAt: string | null;
}

/** Whether a field's value is a web address (one we link to, and may verify). */
export function fieldLink(value: string): URL | undefined {
  if (!/^https?:\/\/\S+$/i.test(value) || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  return url.hostname !== "" && !url.username && !url.password ? url : undefined;
}

/**
 * Replaces an actor's fields, in the caller's transaction. A field whose value was there
 * before, verified, stays verified (reordering or relabelling a link does not fetch it again).
 * @returns Whether anything changed.
 */
export async function replaceProfileFields(
  tx: DatabaseLike,
  actorId: string,
  fields: readonly ProfileFieldInput[],
): Promise<boolean> {
  const before = await tx
    .select()
    .from(profileFields)
    .where(eq(profileFields.actorId, actorId))
    .orderBy(asc(profileFields.position))
    .for("update");
  const same =
    before.length === fields.length &&
    before.every((f, i) => f.name === fields[i]?.name && f.value === fields[i]?.value);
  if (same) return false;
  const verified = new Map(before.flatMap((f) => (f.verifiedAt ? [[f.value, f.verifiedAt] as const] : [])));
  await tx.delete(profileFields).where(eq(profileFields.actorId, actorId));
  if (fields.length > 0) {
    await tx.insert(profileFields).values(
      fields.slice(0, maxProfileFields).map((f, position) => ({
        actorId,
        position,
        name: f.name,
        value: f.value,
        verifiedAt: verified.get(f.value) ?? null,
      })),
    );
  }
  return true;
}

/** The fields of some actors, in order, by actor id (an actor without any is left out). */
export async function profileFieldsOf(
  deps: Pick<Deps, "db">,
  actorIds: readonly string[],
): Promise<Map<string, ProfileFieldView[]>> {
  const result = new Map<string, ProfileFieldView[]>();
  if (actorIds.length === 0) return result;
  const rows = await deps.db
    .select()
    .from(profileFields)
    .where(inArray(profileFields.actorId, [...new Set(actorIds)]))
    .orderBy(asc(profileFields.actorId), asc(profileFields.position));
  for (const row of rows) {
    const list = result.get(row.actorId) ?? [];
    list.push({ name: row.name, value: row.value, verifiedAt: row.verifiedAt?.toISOString() ?? null });
    result.set(row.actorId, list);
  }
  return result;
}

/** One actor's fields, in order. */
export async function fieldsOf(deps: Pick<Deps, "db">, actorId: string): Promise<ProfileFieldView[]> {
  return (await profileFieldsOf(deps, [actorId])).get(actorId) ?? [];
}
