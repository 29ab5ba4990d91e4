/** Validation shared by the room, membership and invite routes. */
import { z } from "zod";

/** Room ids are server-generated UUIDv7s; anything else is refused before storage is touched. */
export const roomId = z.uuid({ version: "v7", error: "expected a room id" });
export const roomParams = z.object({ roomId });

export const notificationSettingsSchema = z
  .object({ level: z.enum(["all", "mentions", "none"]), muted: z.boolean() })
  .describe("How the room notifies the caller: `all` messages, `mentions` and replies, or `none`; muted makes none");

export const noContent = { 204: { description: "Done" } } as const;
