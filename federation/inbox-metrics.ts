import type { InboxListener, InboxListenerSetters } from "@fedify/fedify";
import type { Activity } from "@fedify/vocab";
import type { Deps } from "../src/deps.ts";

/**
 * The inbox listener setters with every listener counted in `fedchat_inbox_activities_total`
 * by activity type (the vocabulary class's name: a fixed set) and outcome: `ok` when it
 * returned, `error` when it threw (Fedify then calls the error handler and retries).
 * @param listeners What `setInboxListeners` answered.
 */
export function countedListeners(listeners: InboxListenerSetters<Deps>): InboxListenerSetters<Deps> {
  const counted: InboxListenerSetters<Deps> = Object.create(listeners);
  counted.on = <T extends Activity>(
    // biome-ignore lint/suspicious/noExplicitAny: the signature of Fedify's own `on`
    type: new (...args: any[]) => T,
    listener: InboxListener<Deps, T>,
  ): InboxListenerSetters<Deps> => {
    const ok = { type: type.name, outcome: "ok" } as const;
    const failed = { type: type.name, outcome: "error" } as const;
    listeners.on(type, async (ctx, activity) => {
      try {
        await listener(ctx, activity);
      } catch (error) {
        ctx.data.metrics.inboxActivities.inc(failed);
        throw error;
      }
      ctx.data.metrics.inboxActivities.inc(ok);
    });
    return counted;
  };
  counted.onError = (handler) => {
    listeners.onError(handler);
    return counted;
  };
  counted.onUnverifiedActivity = (handler) => {
    listeners.onUnverifiedActivity(handler);
    return counted;
  };
  return counted;
}
