/**
 * The instance's own settings, one row (`id` 1), changed by admins and the command line.
 * Re-exported by schema.ts.
 * @module
 */
import { sql } from "drizzle-orm";
import { check, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const registrationModes = ["open", "approval", "closed"] as const;
export type RegistrationMode = (typeof registrationModes)[number];

export const instanceSettings = pgTable(
  "instance_settings",
  {
    id: integer("id").primaryKey().default(1),
    /** Who may sign up: anyone, anyone with an admin's approval, or nobody. */
    registrations: text("registrations", { enum: registrationModes }).notNull().default("open"),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("instance_settings_one_row", sql`${t.id} = 1`),
    check("instance_settings_registrations_known", sql`${t.registrations} in ('open', 'approval', 'closed')`),
  ],
);
