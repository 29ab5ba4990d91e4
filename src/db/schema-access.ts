/**
 * Access rules by address: which networks may sign up, log in, or use the API at all.
 * Re-exported by schema.ts; checked by src/access/ before any other work of a request.
 * @module
 */
import { pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";

/**
 * One network (`cidr`, normalised: `203.0.113.0/24`, `2001:db8::/32`) allowed or denied one
 * kind of request. A deny that matches refuses; where a kind has allow rules, an address that
 * matches none of them is refused too.
 */
export const accessRules = pgTable(
  "access_rules",
  {
    id: uuid("id").primaryKey(),
    cidr: text("cidr").notNull(),
    action: text("action", { enum: ["allow", "deny"] }).notNull(),
    /** `signup`, `login`, or `api`: every request to the API (sign-up and login included). */
    scope: text("scope", { enum: ["signup", "login", "api"] }).notNull(),
    note: text("note").notNull().default(""),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("access_rules_rule_idx").on(t.scope, t.action, t.cidr)],
);
