/**
 * What an incoming webhook accepts: our own `{ content }`, Slack's `{ text }` and Discord's
 * `{ content, username, avatar_url }`, each to the Markdown of one message.
 * @module
 */
import { z } from "zod";
import { AppError } from "../errors.ts";
import { maxMessageLength } from "../messages/messages.ts";

/**
 * The body of a webhook POST. Fields other senders add (Discord's `embeds` and `tts`, Slack's
 * `blocks`, `channel` and `icon_emoji`) are dropped rather than refused, so their clients work
 * unchanged; a body with neither `content` nor `text` is refused.
 */
export const incomingWebhookBody = z
  .object({
    content: z
      .string()
      .max(maxMessageLength, `expected at most ${maxMessageLength} characters`)
      .optional()
      .describe("The message, in Markdown (ours and Discord's field); wins over `text`"),
    text: z
      .string()
      .max(maxMessageLength, `expected at most ${maxMessageLength} characters`)
      .optional()
      .describe("Slack's field: its `<url|label>` links and `&amp;`-style escapes are turned into Markdown"),
    username: z
      .string()
      .max(200)
      .optional()
      .describe("Discord's per-message name: accepted and ignored (the webhook's own name is shown)"),
    avatar_url: z
      .string()
      .max(2000)
      .optional()
      .describe("Discord's per-message avatar: accepted and ignored, never fetched"),
  })
  .refine((b) => (b.content ?? b.text ?? "").trim() !== "", {
    message: "expected some text in content (or Slack's text)",
    path: ["content"],
  });

/** Slack's `<https://x|label>` and `<https://x>` links; other `<…>` (user and channel ids) stay. */
const slackLink = /<((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?>/g;

/**
 * Slack's message formatting ("mrkdwn") as our Markdown: links, then its three escapes
 * (`&amp;`, `&lt;`, `&gt;`). The rest (`*bold*`, `_italic_`, `~strike~`, code) reads the same
 * or close enough; the Markdown renderer sanitises the result as it does every message.
 */
export function fromSlack(text: string): string {
  const linked = text.replace(slackLink, (_, url: string, label: string | undefined) =>
    label ? `[${label.replaceAll("]", "\\]")}](${url.replaceAll(")", "%29")})` : `<${url}>`,
  );
  return linked.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/**
 * The Markdown a webhook body posts.
 * @throws {AppError} `validation_failed` when Slack's text grows past the message limit.
 */
export function webhookContent(body: z.output<typeof incomingWebhookBody>): string {
  const content = body.content?.trim() ? body.content : fromSlack(body.text ?? "");
  if (content.length > maxMessageLength) {
    throw new AppError("validation_failed", "The message is too long.", {
      details: [{ path: "text", message: `expected at most ${maxMessageLength} characters` }],
    });
  }
  return content;
}
