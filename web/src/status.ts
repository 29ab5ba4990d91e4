/** Short status messages for the user, and running what they asked for with failures shown. */
import { signal } from "@preact/signals";
import { describeError } from "./errors.ts";

/** Short messages for the user (saved, copied, failed), shown in a live region. */
export const toast = signal<{ text: string; error?: boolean; id: number } | null>(null);

/** Shows a short status message (announced to screen readers). */
export function say(text: string, error = false): void {
  toast.value = { text, error, id: Date.now() };
}

/**
 * Runs something the user asked for; a failure is shown (worded by its problem code) rather
 * than thrown.
 * @returns Whether it worked.
 */
export async function attempt(task: () => Promise<unknown>): Promise<boolean> {
  try {
    await task();
    return true;
  } catch (error) {
    say(describeError(error), true);
    return false;
  }
}
