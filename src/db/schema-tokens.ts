/**
 * Personal access tokens: long-lived bearer tokens for a user's own scripts and for their
 * bots. Each rides on a `sessions` row of its own (the session is what requests, the live
 * stream and revocation already check), and adds a name, scopes and the token's hash.
 * @module
 */
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { sessions, users } from "./schema-accounts.ts";

/**
 * A personal access token. Only the SHA-256 of the secret is kept; `prefix` (its first
 * characters) tells tokens apart in a list. Revoking it revokes its session; ending the
 * session (expiry, suspension, the purge) ends the token, whose row goes with the session.
 */
export const personalAccessTokens = pgTable(
  "personal_access_tokens",
  {
    id: uuid("id").primaryKey(),
    /** The user who made it: the token's own user, or the owner of the bot it acts as. */
    ownerId: uuid("owner_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The session it authenticates as; its `user_id` is who the token acts as. */
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** `read`, `write`, `rooms:<uuid>`…; see src/accounts/token-scopes.ts. */
    scopes: text("scopes").array().notNull(),
    tokenHash: text("token_hash").notNull(),
    prefix: text("prefix").notNull(),
    /** Null for a token that does not expire. */
    expiresAt: timestamp("expires_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("personal_access_tokens_hash_idx").on(t.tokenHash),
    uniqueIndex("personal_access_tokens_session_idx").on(t.sessionId),
    index("personal_access_tokens_owner_idx").on(t.ownerId),
  ],
);

export type PersonalAccessToken = typeof personalAccessTokens.$inferSelect;
