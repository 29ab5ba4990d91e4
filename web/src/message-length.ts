/**
 * The length limit of a message, as the composer checks it before sending: by how much a text
 * is over, whether a paste would make it so, and a text as a file to send instead.
 */

/** The server's limit on a message's content, in UTF-16 code units as zod counts them (src/messages/messages.ts). */
export const maxMessageLength = 4000;

/** The counter shows from this length on. */
export const counterFrom = 3500;

/** Numbers as people read them: "4,000". */
export const number = new Intl.NumberFormat("en");

/** Why a text cannot be sent as a message, or null when it can. */
export function tooLong(text: string): string | null {
  const over = text.length - maxMessageLength;
  if (over <= 0) return null;
  return `This message is ${number.format(over)} character${over === 1 ? "" : "s"} over the limit of ${number.format(maxMessageLength)}. Shorten it or send it as a file.`;
}

/** A text as a file to attach (`message.txt`, UTF-8). */
export function textAsFile(text: string, name = "message.txt"): File {
  return new File([text], name, { type: "text/plain" });
}

/** Whether pasting `pasted` over the selection of `box` would make its text too long. */
export function pasteTooLong(box: { value: string; selectionStart: number; selectionEnd: number }, pasted: string) {
  return box.value.length - (box.selectionEnd - box.selectionStart) + pasted.length > maxMessageLength;
}
