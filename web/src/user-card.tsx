/**
 * A person's card: avatar, name, handle, bio and what one can do with them (message, add as
 * a contact, block, open the whole profile). A popover by the clicked name on a wide screen,
 * a bottom sheet on a phone. It is a modal `<dialog>`: focus moves in, Escape or a click
 * outside closes it, and focus returns to the name that opened it.
 */
import { render } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import { ConfirmBlock } from "./block-confirm.tsx";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { BotBadge, isolate, Name, UserText } from "./names.tsx";
import { openDirect } from "./pages.tsx";
import { ProfileFields } from "./profile-fields.tsx";
import { liveProfiles } from "./profiles.ts";
import { ReportDialog } from "./report-dialog.tsx";
import { RoomAvatar } from "./room-face.tsx";
import { rooms } from "./room-list.ts";
import { match, navigate, path } from "./router.ts";
import { attempt, blocked, contacts, loadContacts, me, say } from "./store.ts";
import type { User } from "./types.ts";
import { ActionButton, Avatar } from "./ui.tsx";

/** How many shared rooms the card lists before "and N more". */
const sharedShown = 5;

/** The rooms one shares with the person (as Discord's "mutual servers"), each a way into it. */
function SharedRooms(props: { handle: string; onOpen(roomId: string): void }) {
  const [shared, setShared] = useState<{ id: string; name: string }[] | null>(null);
  useEffect(() => {
    api<{ rooms: { id: string; name: string }[] }>("GET", `/users/${encodeURIComponent(props.handle)}/shared-rooms`)
      .then((answer) => setShared(answer.rooms))
      // The card is whole without it.
      .catch(() => setShared([]));
  }, [props.handle]);
  if (shared == null || shared.length === 0) return null;
  // One's own room list knows the rooms' current names and pictures.
  const mine = new Map(rooms.value.map((r) => [r.id, r]));
  const more = shared.length - sharedShown;
  return (
    <section class="user-card-shared" aria-labelledby="user-card-shared-title">
      <h3 id="user-card-shared-title">
        {shared.length} shared {shared.length === 1 ? "room" : "rooms"}
      </h3>
      <ul>
        {shared.slice(0, sharedShown).map((r) => {
          const room = mine.get(r.id);
          return (
            <li key={r.id}>
              <button type="button" class="user-card-room" onClick={() => props.onOpen(r.id)}>
                {room ? <RoomAvatar room={room} size="s" /> : null}
                <Name text={room?.name ?? r.name} />
              </button>
            </li>
          );
        })}
      </ul>
      {more > 0 ? <p class="muted small">and {more} more</p> : null}
    </section>
  );
}

/** Below this width the card is a bottom sheet (the layout's phone breakpoint). */
const sheetQuery = "(max-width: 720px)";

let host: HTMLElement | null = null;

/** Opens the card of `handle` by `anchor` (closing any other card first). */
export function openUserCard(handle: string, anchor: HTMLElement): void {
  if (!host) {
    host = document.createElement("div");
    host.className = "user-card-host";
    document.body.append(host);
  }
  const root = host;
  render(null, root);
  render(<UserCard handle={handle} anchor={anchor} onClose={() => render(null, root)} />, root);
}

/**
 * The clicked link as it is in the page now: a timeline that reloads (a resync after the
 * stream reconnects) replaces its elements, so a link gone from the page is found again by
 * its address inside the element with the same id (the message).
 */
function current(anchor: HTMLElement): HTMLElement | null {
  if (anchor.isConnected) return anchor;
  const href = anchor.getAttribute("href");
  const holder = anchor.closest("[id]")?.id;
  const scope = holder ? document.getElementById(holder) : null;
  return href && scope ? scope.querySelector<HTMLElement>(`a[href="${CSS.escape(href)}"]`) : null;
}

/** Where the popover goes: below the name (above it when there is no room), inside the window. */
function place(card: HTMLElement, anchor: HTMLElement): void {
  const at = (current(anchor) ?? anchor).getBoundingClientRect();
  const { width, height } = card.getBoundingClientRect();
  const left = Math.max(8, Math.min(at.left, innerWidth - width - 8));
  const below = at.bottom + 6;
  const top = below + height <= innerHeight - 8 ? below : Math.max(8, at.top - height - 6);
  card.style.left = `${left}px`;
  card.style.top = `${top}px`;
}

function UserCard(props: { handle: string; anchor: HTMLElement; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [fetched, setUser] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [blocking, setBlocking] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [sheet] = useState(() => matchMedia(sheetQuery).matches);
  const live = fetched ? liveProfiles.value[fetched.id] : undefined;
  const user =
    fetched && live
      ? { ...fetched, displayName: live.displayName, avatarUrl: live.avatarUrl, color: live.color }
      : fetched;

  useEffect(() => {
    const dialog = ref.current;
    const anchor = props.anchor;
    dialog?.showModal();
    if (contacts.peek() == null) void loadContacts();
    api<User>("GET", `/users/${encodeURIComponent(props.handle)}`)
      .then(setUser)
      .catch((e) =>
        setError(e instanceof ApiError && e.code.endsWith("not_found") ? "No such user." : describeError(e)),
      );
    return () => {
      dialog?.close();
      current(anchor)?.focus();
    };
  }, []);

  // Placed again once the profile is in (the card grows).
  useLayoutEffect(() => {
    if (!sheet && ref.current) place(ref.current, props.anchor);
  }, [user, error]);

  const name = user ? user.displayName || user.username : props.handle;
  const self = user != null && user.id === me.value?.id;
  const data = contacts.value;
  const contact = user && data?.contacts.some((c) => c.actor.id === user.id);
  const outgoing = user && data?.outgoing.some((r) => r.actor.id === user.id);
  const incoming = user ? data?.incoming.find((r) => r.actor.id === user.id) : undefined;
  const isBlocked = user != null && (blocked.value?.has(user.id) ?? false);
  const go = (to: string) => {
    props.onClose();
    navigate(to);
  };

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a click outside closes; Escape does the same (onCancel)
    <dialog
      ref={ref}
      class={sheet ? "user-card sheet" : "user-card"}
      aria-labelledby="user-card-name"
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onClick={(e) => {
        if (e.target === ref.current) props.onClose();
      }}
    >
      <div class="user-card-body">
        <div class="user-card-banner" style={user?.color ? { backgroundColor: user.color } : undefined} />
        <header class="user-card-head">
          {user ? (
            <Avatar id={user.id} name={name} url={user.avatarUrl} size="l" color={user.color} />
          ) : (
            <span class="avatar avatar-l" aria-hidden="true" />
          )}
          <button type="button" class="icon-button" aria-label="Close" onClick={props.onClose}>
            <Icon name="close" />
          </button>
        </header>
        <h2 id="user-card-name" style={user?.color ? { color: user.color } : undefined}>
          <Name text={name} />
          {user?.bot ? (
            <>
              {" "}
              <BotBadge />
            </>
          ) : null}
        </h2>
        <p class="muted user-card-handle">
          <Name text={`@${user?.handle ?? props.handle}`} />
        </p>
        {error ? <p role="alert">{error}</p> : null}
        {!user && !error ? <p class="loading">Loading…</p> : null}
        {user?.bio ? <UserText class="bio user-card-bio" text={user.bio} /> : null}
        {user ? <ProfileFields fields={user.fields} /> : null}
        {user && !self ? (
          <div class="user-card-actions">
            <ActionButton class="primary" action={() => openDirect([user.handle]).then(props.onClose)}>
              Message
            </ActionButton>
            {contact ? (
              <span class="muted small">Contact</span>
            ) : outgoing ? (
              <span class="muted small">Contact request sent</span>
            ) : incoming ? (
              <ActionButton
                action={async () => {
                  await api("POST", `/contacts/requests/${incoming.id}/accept`);
                  say(`${isolate(name)} is now a contact.`);
                  await loadContacts();
                }}
              >
                Accept contact request
              </ActionButton>
            ) : (
              <ActionButton
                action={async () => {
                  const answer = await api<{ state: string }>("POST", "/contacts", { user: user.handle });
                  say(
                    answer.state === "contact"
                      ? `${isolate(name)} is now a contact.`
                      : `Contact request sent to ${isolate(name)}.`,
                  );
                  await loadContacts();
                }}
              >
                Add contact
              </ActionButton>
            )}
            {isBlocked ? (
              <button
                type="button"
                onClick={() =>
                  void attempt(async () => {
                    await api("DELETE", `/blocks/${encodeURIComponent(user.handle)}`);
                    say(`Unblocked ${isolate(name)}.`);
                  })
                }
              >
                Unblock
              </button>
            ) : (
              <button type="button" class="danger-text" onClick={() => setBlocking(true)}>
                Block
              </button>
            )}
            <button type="button" class="danger-text" onClick={() => setReporting(true)}>
              Report
            </button>
          </div>
        ) : null}
        {user && !self ? <SharedRooms handle={user.handle} onOpen={(id) => go(`/rooms/${id}`)} /> : null}
        <div class="user-card-links">
          {self ? (
            <button type="button" class="link" onClick={() => go("/settings")}>
              Edit profile
            </button>
          ) : null}
          <button type="button" class="link" onClick={() => go(`/users/${encodeURIComponent(props.handle)}`)}>
            View full profile
          </button>
        </div>
      </div>
      {reporting && user ? (
        <ReportDialog
          subject={{
            kind: "user",
            name,
            handle: user.handle,
            userId: user.id,
            // Seen in a room: its moderators hear of it too.
            roomId: match("/rooms/:id", path.value)?.id,
          }}
          onClose={() => setReporting(false)}
        />
      ) : null}
      {blocking && user ? (
        <ConfirmBlock handle={user.handle} name={name} onClose={() => setBlocking(false)} onBlocked={props.onClose} />
      ) : null}
    </dialog>
  );
}
