/** Pages beside the rooms: directory, create, join by address, invites, profiles, new DM. */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "./api.ts";
import { ConfirmBlock } from "./block-confirm.tsx";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { isolate, Name, plain, UserText } from "./names.tsx";
import { ProfileFields } from "./profile-fields.tsx";
import { liveProfiles } from "./profiles.ts";
import { navigate } from "./router.ts";
import { attempt, blocked, me, pageTitle, putRoom, rooms, say } from "./store.ts";
import type { Room, User } from "./types.ts";
import { ActionButton, Avatar, Field, FormError, useSubmit } from "./ui.tsx";

export function Page(props: { title: string; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    pageTitle.value = props.title;
    heading.current?.focus();
  }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <a href="/" class="icon-button back" aria-label="Back to rooms">
          <Icon name="back" />
        </a>
        {/* A profile's title is a person's name: its own direction, not the page's. */}
        <h1 id="page-title" ref={heading} tabIndex={-1} dir="auto">
          {props.title}
        </h1>
      </header>
      {props.children}
    </section>
  );
}

export function Directory() {
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<(Room & { members: number })[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const timer = setTimeout(() => {
      const q = query.trim().slice(0, 100);
      api<{ rooms: (Room & { members: number })[] }>(
        "GET",
        `/rooms/directory?limit=50${q ? `&q=${encodeURIComponent(q)}` : ""}`,
      )
        .then((r) => {
          setResults(r.rooms);
          setError(null);
        })
        .catch((e) => setError(describeError(e)));
    }, 200);
    return () => clearTimeout(timer);
  }, [query]);
  const mine = new Set(rooms.value.map((r) => r.id));
  return (
    <Page title="Room directory">
      <input
        type="search"
        class="search"
        aria-label="Search public rooms"
        placeholder="Search public rooms"
        maxLength={100}
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
      />
      <FormError error={error} />
      <p class="muted small" aria-live="polite">
        {results ? `${results.length} room${results.length === 1 ? "" : "s"}` : "Searching…"}
      </p>
      <ul class="cards">
        {(results ?? []).map((room) => (
          <li key={room.id} class="card room-card">
            <Avatar id={room.id} name={room.name} url={room.avatarUrl} color={room.theme} />
            <div class="room-card-text">
              <h2>
                <a href={`/rooms/${room.id}`}>
                  <Name text={room.name} />
                </a>
              </h2>
              {room.topic ? <UserText class="topic" text={room.topic} /> : null}
              <p class="muted small">
                {room.members} member{room.members === 1 ? "" : "s"}
              </p>
            </div>
            {mine.has(room.id) ? (
              <a href={`/rooms/${room.id}`} class="button">
                Open
              </a>
            ) : (
              <button
                type="button"
                class="primary"
                aria-label={`Join ${room.name}`}
                onClick={async () => {
                  await attempt(async () => {
                    putRoom(await api<Room>("POST", `/rooms/${room.id}/join`));
                    navigate(`/rooms/${room.id}`);
                  });
                }}
              >
                Join
              </button>
            )}
          </li>
        ))}
      </ul>
    </Page>
  );
}

export function CreateRoom() {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const topic = String(data.get("topic") ?? "").trim();
    const room = await api<Room>("POST", "/rooms", {
      name: String(data.get("name") ?? "").trim(),
      visibility: String(data.get("visibility")) === "private" ? "private" : "public",
      ...(topic ? { topic } : {}),
    });
    putRoom(room);
    navigate(`/rooms/${room.id}`);
  }, describeError);
  return (
    <Page title="Create a room">
      <form onSubmit={onSubmit} class="card narrow">
        <Field label="Name">
          <input name="name" required maxLength={100} />
        </Field>
        <Field label="Topic (optional)">
          <textarea name="topic" rows={2} maxLength={1000} />
        </Field>
        <fieldset>
          <legend>Who can join</legend>
          <label class="check">
            <input type="radio" name="visibility" value="public" defaultChecked /> Public: listed in the directory,
            anyone may join, also from other servers
          </label>
          <label class="check">
            <input type="radio" name="visibility" value="private" /> Private: invite only
          </label>
        </fieldset>
        <FormError error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Create room
          </button>
        </div>
      </form>
    </Page>
  );
}

/** Reads what was typed as a room address: `room@host`, `!room@host`, or an http(s) URL. */
function parseTarget(value: string): string | null {
  const v = value.trim();
  if (/^https?:\/\/\S+$/i.test(v)) {
    try {
      return new URL(v).href;
    } catch {
      return null;
    }
  }
  const handle = v.replace(/^[@!]/, "");
  return /^[^\s@]+@[^\s@]+\.?[^\s@]*$/.test(handle) ? handle : null;
}

export function JoinRemote() {
  const { busy, error, onSubmit } = useSubmit(
    async (form) => {
      const target = parseTarget(String(new FormData(form).get("target") ?? ""));
      if (!target) throw new ApiError("validation_failed", "Enter an address like room@example.org or a room's URL.");
      const room = await api<Room>("POST", "/rooms/join", { target });
      putRoom(room);
      if (room.membership === "pending") say("Request sent: the room appears as pending until its server accepts.");
      navigate(`/rooms/${room.id}`);
    },
    (e) => {
      if (e instanceof ApiError && (e.code === "not_found" || e.code === "room_not_found"))
        return "No room was found at that address.";
      if (e instanceof ApiError && e.code === "remote_unreachable") return "That server cannot be reached right now.";
      return describeError(e);
    },
  );
  return (
    <Page title="Join a room by address">
      <form onSubmit={onSubmit} class="card narrow">
        <p>Rooms on any fedchat server (and other ActivityPub group servers) can be joined by their address.</p>
        <Field
          label="Room address or URL"
          hint="For example: 0192c0de-…@chat.example.org or https://chat.example.org/rooms/…"
        >
          <input name="target" required maxLength={2000} autoCapitalize="none" spellcheck={false} />
        </Field>
        <FormError error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Join
          </button>
        </div>
      </form>
    </Page>
  );
}

export function InvitePage(props: { code: string }) {
  const [invite, setInvite] = useState<{ room: Room; members: number; usable: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(props.code)) {
      setError("This invite link is not valid.");
      return;
    }
    api<{ room: Room; members: number; usable: boolean }>("GET", `/invites/${props.code}`)
      .then(setInvite)
      .catch((e) =>
        setError(
          e instanceof ApiError && (e.code === "not_found" || e.code === "invite_not_found")
            ? "This invite does not exist or was revoked."
            : describeError(e),
        ),
      );
  }, [props.code]);
  const member = invite && rooms.value.some((r) => r.id === invite.room.id);
  return (
    <Page title="Invitation">
      <div class="card narrow preview">
        {error ? <p role="alert">{error}</p> : null}
        {!invite && !error ? <p class="loading">Loading…</p> : null}
        {invite ? (
          <>
            <Avatar
              id={invite.room.id}
              name={invite.room.name}
              url={invite.room.avatarUrl}
              size="l"
              color={invite.room.theme}
            />
            <h2>
              <Name text={invite.room.name} />
            </h2>
            {invite.room.topic ? <UserText class="topic" text={invite.room.topic} /> : null}
            <p class="muted">
              {invite.members} member{invite.members === 1 ? "" : "s"} · {invite.room.visibility}
            </p>
            {member ? (
              <a class="button primary" href={`/rooms/${invite.room.id}`}>
                Open room
              </a>
            ) : invite.usable ? (
              <ActionButton
                class="primary"
                action={async () => {
                  const room = await api<Room>("POST", `/invites/${props.code}/accept`);
                  putRoom(room);
                  navigate(`/rooms/${room.id}`);
                }}
                onError={setError}
              >
                Accept invitation
              </ActionButton>
            ) : (
              <p role="alert">This invite has expired or has been used up.</p>
            )}
          </>
        ) : null}
      </div>
    </Page>
  );
}

export async function openDirect(handles: string[]): Promise<void> {
  const room = await api<Room>("POST", "/dms", { users: handles });
  putRoom(room);
  navigate(`/rooms/${room.id}`);
}

export function UserPage(props: { handle: string }) {
  const [fetched, setUser] = useState<User | null>(null);
  // A change told live since it was fetched shows at once.
  const live = fetched ? liveProfiles.value[fetched.id] : undefined;
  const user =
    fetched && live
      ? { ...fetched, displayName: live.displayName, avatarUrl: live.avatarUrl, color: live.color }
      : fetched;
  const [error, setError] = useState<string | null>(null);
  const [blocking, setBlocking] = useState(false);
  useEffect(() => {
    setUser(null);
    setError(null);
    api<User>("GET", `/users/${encodeURIComponent(props.handle)}`)
      .then(setUser)
      .catch((e) =>
        setError(e instanceof ApiError && e.code.endsWith("not_found") ? "No such user." : describeError(e)),
      );
  }, [props.handle]);
  const self = user && user.id === me.value?.id;
  return (
    <Page title={user ? plain(user.displayName || user.username) : "Profile"}>
      <div class="card narrow profile">
        {error ? <p role="alert">{error}</p> : null}
        {!user && !error ? <p class="loading">Loading…</p> : null}
        {user ? (
          <>
            <Avatar
              id={user.id}
              name={user.displayName || user.username}
              url={user.avatarUrl}
              size="l"
              color={user.color}
            />
            <h2 style={user.color ? { color: user.color } : undefined}>
              <Name text={user.displayName || user.username} />
            </h2>
            <p class="muted">
              <Name text={`@${user.handle}`} />
            </p>
            {user.bio ? <UserText class="bio" text={user.bio} /> : null}
            <ProfileFields fields={user.fields} />
            <div class="actions center">
              {self ? (
                <a class="button" href="/settings">
                  Edit profile
                </a>
              ) : (
                <>
                  <button
                    type="button"
                    class="primary"
                    onClick={() => openDirect([user.handle]).catch((e) => say(describeError(e), true))}
                  >
                    Message
                  </button>
                  {blocked.value?.has(user.id) ? (
                    <button
                      type="button"
                      onClick={async () => {
                        await attempt(async () => {
                          await api("DELETE", `/blocks/${encodeURIComponent(user.handle)}`);
                          say(`Unblocked ${isolate(user.displayName || user.username)}.`);
                        });
                      }}
                    >
                      Unblock
                    </button>
                  ) : (
                    <button type="button" onClick={() => setBlocking(true)}>
                      Block
                    </button>
                  )}
                </>
              )}
            </div>
            {blocking ? (
              <ConfirmBlock
                handle={user.handle}
                name={user.displayName || user.username}
                onClose={() => setBlocking(false)}
              />
            ) : null}
          </>
        ) : null}
      </div>
    </Page>
  );
}

export function NewDirect() {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const handles = String(new FormData(form).get("users") ?? "")
      .split(/[\s,]+/)
      .map((h) => h.trim().replace(/^@/, ""))
      .filter(Boolean);
    if (handles.length === 0) throw new ApiError("validation_failed", "Enter at least one name.");
    await openDirect(handles);
  }, describeError);
  return (
    <Page title="New direct message">
      <form onSubmit={onSubmit} class="card narrow">
        <Field label="With" hint="One or more names, separated by commas: alice, bob@other.example">
          <input name="users" required maxLength={1000} autoCapitalize="none" spellcheck={false} />
        </Field>
        <FormError error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Start conversation
          </button>
        </div>
      </form>
    </Page>
  );
}
