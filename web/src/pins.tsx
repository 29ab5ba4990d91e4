/** Pinned messages: pinning from a message's toolbar, and the room header's list with jumps. */
import { ApiError, api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { displayNameIn } from "./message.tsx";
import { PersonName } from "./names.tsx";
import { RelativeTime } from "./relative-time.ts";
import { jumpRequest, type RoomState, say } from "./store.ts";
import type { Room } from "./types.ts";
import { Dialog } from "./ui.tsx";

/**
 * Pins (`on`) or unpins a message. The list follows from the `pins` event; in a room on
 * another server (202) it comes when that server has decided.
 */
export async function togglePin(room: Room, messageId: string, on: boolean): Promise<void> {
  try {
    const res = await api<{ pending?: true } | undefined>(on ? "PUT" : "DELETE", `/rooms/${room.id}/pins/${messageId}`);
    if (res?.pending) say(on ? "Asked the room's server to pin it." : "Asked the room's server to unpin it.");
    else say(on ? "Message pinned." : "Message unpinned.");
  } catch (error) {
    if (error instanceof ApiError && error.code === "pin_limit_reached") {
      say("This room has as many pinned messages as it may. Unpin one first.", true);
    } else {
      say(describeError(error), true);
    }
  }
}

/** The header's pin button: opens the list, and shows how many are pinned. */
export function PinsButton(props: { state: RoomState; onOpen(): void }) {
  const count = props.state.pins.value?.length ?? 0;
  return (
    <button
      type="button"
      class="icon-button pins-button"
      aria-label={count ? `Pinned messages (${count})` : "Pinned messages"}
      title="Pinned messages"
      onClick={props.onOpen}
    >
      <Icon name="pin" />
      {count ? <span class="pins-count">{count}</span> : null}
    </button>
  );
}

/** The room's pinned messages, newest pin first: each jumps to the message in the timeline. */
export function PinnedList(props: { room: Room; state: RoomState; onClose(): void }) {
  const { room, state } = props;
  const pins = state.pins.value;
  const members = state.members.value;
  const canPin = room.permissions.includes("pin");
  return (
    <Dialog title="Pinned messages" onClose={props.onClose} wide>
      {pins == null ? (
        <p class="loading">Loading…</p>
      ) : pins.length === 0 ? (
        <p class="muted">Nothing is pinned in this room.</p>
      ) : (
        <ol class="pinned-list">
          {pins.map((pin) => {
            const author = displayNameIn(pin.message.author, members);
            return (
              <li key={pin.message.id} class="pinned-item">
                <div class="message-head">
                  <span class="author">
                    <PersonName {...author} />
                  </span>
                  <RelativeTime at={pin.message.createdAt} />
                </div>
                {/* Server-rendered and sanitised, as in the timeline (src/messages/markdown.ts). */}
                <div class="content" dir="auto" dangerouslySetInnerHTML={{ __html: pin.message.html }} />
                <p class="pinned-actions">
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      jumpRequest.value = { roomId: room.id, messageId: pin.message.id };
                      props.onClose();
                    }}
                  >
                    Jump to message
                  </button>
                  {canPin ? (
                    <>
                      {" · "}
                      <button type="button" class="link" onClick={() => void togglePin(room, pin.message.id, false)}>
                        Unpin
                      </button>
                    </>
                  ) : null}
                </p>
              </li>
            );
          })}
        </ol>
      )}
    </Dialog>
  );
}
