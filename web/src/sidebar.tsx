/** The room list: rooms, then direct messages, with unread and mention badges. */

import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";
import { logout } from "./api.ts";
import { Icon, type IconName } from "./icons.tsx";
import { Name } from "./names.tsx";
import { ReportsLink } from "./report-entry.tsx";
import { RoomAvatar } from "./room-face.tsx";
import { cancelJoin } from "./room-list.ts";
import { path } from "./router.ts";
import { SearchBox } from "./search.tsx";
import { contacts, loadRooms, me, roomsLoaded, sortedRooms, unreadNotifications } from "./store.ts";
import { SwitcherButton } from "./switcher-entry.tsx";
import type { Room } from "./types.ts";
import { Avatar } from "./ui.tsx";

/** A room's picture and name, with the server it is on when that is not this one. */
function RoomTitle(props: { room: Room; host: string | null | undefined }) {
  const { room, host } = props;
  return (
    <>
      <RoomAvatar room={room} size="s" />
      <span class="room-name">
        <Name text={room.name} />
        {host ? (
          <span class="room-host">
            {" "}
            · <Name text={host} />
          </span>
        ) : null}
      </span>
    </>
  );
}

function RoomLink(props: { room: Room }) {
  const { room } = props;
  const href = `/rooms/${room.id}`;
  const current = path.value === href || path.value.startsWith(`${href}/`);
  const pending = room.membership === "pending";
  // A muted room shows no badges: it is dimmed instead.
  const muted = room.notifications?.muted === true;
  const mentions = muted ? 0 : room.mentions;
  const unread = muted ? 0 : room.unread;
  const host = room.remote ? room.handle.split("@").pop() : null;
  const label = [
    room.name,
    host ? `on ${host}` : "",
    muted ? "muted" : "",
    mentions > 0 ? `${mentions} mention${mentions === 1 ? "" : "s"}` : "",
    unread > 0 ? `${unread} unread` : "",
  ]
    .filter(Boolean)
    .join(", ");
  if (pending) {
    // Not openable until the room's server accepts: there is nothing to show yet.
    return (
      <li>
        <div class="room-link pending" title="Waiting for the room's server to accept">
          <RoomTitle room={room} host={host} />
          <span class="badge badge-pending">pending</span>
          <button
            type="button"
            class="link cancel-join"
            aria-label={`Cancel the request to join ${room.name}`}
            onClick={() => void cancelJoin(room)}
          >
            Cancel
          </button>
        </div>
      </li>
    );
  }
  return (
    <li>
      <a
        href={href}
        class={`room-link${current ? " current" : ""}${unread > 0 ? " has-unread" : ""}${muted ? " muted-room" : ""}`}
        aria-current={current ? "page" : undefined}
        aria-label={label}
      >
        <RoomTitle room={room} host={host} />
        {mentions > 0 ? (
          <span class="badge badge-mention" aria-hidden="true">
            @{mentions}
          </span>
        ) : unread > 0 ? (
          <span class="badge" aria-hidden="true">
            {unread > 99 ? "99+" : unread}
          </span>
        ) : null}
      </a>
    </li>
  );
}

/** A page of the sidebar's, as an icon button: its name in aria-label and in a tooltip. */
function NavButton(props: { href: string; icon: IconName; label: string; children?: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class="icon-button small nav-button"
      aria-label={props.label}
      title={props.label}
      aria-current={path.value === props.href ? "page" : undefined}
    >
      <Icon name={props.icon} size={16} />
      {props.children}
    </a>
  );
}

export function Sidebar() {
  useEffect(() => {
    if (!roomsLoaded.peek()) void loadRooms();
  }, []);
  const list = sortedRooms.value;
  const groups = list.filter((r) => !r.direct);
  const directs = list.filter((r) => r.direct);
  const user = me.value;
  const bell = unreadNotifications.value;
  const requests = contacts.value?.incoming.length ?? 0;
  return (
    <nav class="sidebar" aria-label="Rooms">
      <header class="sidebar-head">
        <a href="/" class="brand">
          fedchat
        </a>
        <a
          href="/notifications"
          class={bell > 0 ? "icon-button bell has-unread" : "icon-button bell"}
          aria-label={bell > 0 ? `Notifications, ${bell} unread` : "Notifications"}
          aria-current={path.value === "/notifications" ? "page" : undefined}
          title="Notifications"
        >
          <Icon name="bell" />
          {bell > 0 ? (
            <span class="badge bell-count" aria-hidden="true">
              {bell > 99 ? "99+" : bell}
            </span>
          ) : null}
        </a>
        <SwitcherButton />
        <a href="/new" class="icon-button" aria-label="Create a room" title="Create a room">
          <Icon name="plus" />
        </a>
      </header>
      <SearchBox />
      <div class="sidebar-scroll">
        <div class="section-head">
          <h2 class="section-title" id="rooms-title">
            Rooms
          </h2>
          <NavButton href="/directory" icon="compass" label="Room directory" />
          <NavButton href="/join" icon="link" label="Join by address" />
          <ReportsLink />
        </div>
        {groups.length === 0 && roomsLoaded.value ? (
          <p class="muted small">
            No rooms yet. <a href="/directory">Find one</a> or <a href="/new">create one</a>.
          </p>
        ) : null}
        <ul class="room-list" aria-labelledby="rooms-title">
          {groups.map((room) => (
            <RoomLink key={room.id} room={room} />
          ))}
        </ul>
        <div class="section-head">
          <h2 class="section-title" id="dms-title">
            Direct messages
          </h2>
          <NavButton href="/contacts" icon="contact" label={requests > 0 ? `Contacts (${requests} new)` : "Contacts"}>
            {requests > 0 ? (
              <span class="badge bell-count" aria-hidden="true">
                {requests > 99 ? "99+" : requests}
              </span>
            ) : null}
          </NavButton>
          <NavButton href="/dm" icon="plus" label="New direct message" />
        </div>
        {directs.length === 0 && roomsLoaded.value ? (
          <p class="muted small">
            No conversations yet. <a href="/dm">Start one</a>.
          </p>
        ) : null}
        <ul class="room-list" aria-labelledby="dms-title">
          {directs.map((room) => (
            <RoomLink key={room.id} room={room} />
          ))}
        </ul>
      </div>
      {user ? (
        <footer class="sidebar-foot">
          <a href="/settings" class="me" aria-label={`Settings for ${user.displayName || user.username}`}>
            <Avatar
              id={user.id}
              name={user.displayName || user.username}
              url={user.avatarUrl}
              size="s"
              color={user.color}
            />
            <Name class="me-name" text={user.displayName || user.username} />
          </a>
          <button
            type="button"
            class="icon-button"
            aria-label="Sign out"
            title="Sign out"
            onClick={() => void logout()}
          >
            <Icon name="logout" />
          </button>
        </footer>
      ) : null}
    </nav>
  );
}
