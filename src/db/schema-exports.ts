/**
 * Archives of users' own data (their profile, rooms, messages and files), made in the
 * background and downloaded once ready. The file lives under `DATA_DIR/exports`.
 * @module
 */
import { bigint, index, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./schema-accounts.ts";

/** One export a user asked for: `pending` until a worker makes it, then `ready` or `failed`. */
export const accountExports = pgTable(
  "account_exports",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    state: text("state", { enum: ["pending", "ready", "failed"] })
      .notNull()
      .default("pending"),
    /** A worker making it holds it until then; a crashed worker's lease runs out. */
    lockedUntil: timestamp("locked_until", { withTimezone: true }),
    /** The archive's size in bytes, once ready. */
    size: bigint("size", { mode: "number" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    /** The archive is deleted then (and the row with it). */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("account_exports_user_idx").on(t.userId, t.createdAt), index("account_exports_state_idx").on(t.state)],
);

export type AccountExport = typeof accountExports.$inferSelect;
