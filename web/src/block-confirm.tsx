/** The one confirmation before blocking someone, wherever blocking is offered. */
import { api } from "./api.ts";
import { isolate, Name } from "./names.tsx";
import { attempt, blocked, say } from "./store.ts";
import { Confirm } from "./ui.tsx";

/**
 * Asks before blocking `handle` (shown as `name`), says what blocking does, and blocks on
 * confirmation. `onBlocked` runs after the server agreed.
 */
export function ConfirmBlock(props: { handle: string; name: string; onClose(): void; onBlocked?(): void }) {
  return (
    <Confirm
      title={
        <>
          Block <Name text={props.name} />?
        </>
      }
      action="Block"
      onClose={props.onClose}
      onConfirm={async () => {
        await attempt(async () => {
          const { actor } = await api<{ actor: { id: string } }>("POST", "/blocks", { user: props.handle });
          // The stream's block.updated confirms it; hide their messages at once.
          blocked.value = new Set([...(blocked.peek() ?? []), actor.id]);
          say(`Blocked ${isolate(props.name)}.`);
          props.onClose();
          props.onBlocked?.();
        });
      }}
    >
      <p>
        <Name text={`@${props.handle}`} /> will no longer be able to send you direct messages or contact requests, and a
        contact between you ends. Their messages in shared rooms are hidden behind a notice for you.
      </p>
      <p class="muted small">They are not told. You can unblock them at any time in Settings.</p>
    </Confirm>
  );
}
