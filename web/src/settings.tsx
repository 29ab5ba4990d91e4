/** Room settings (a dialog over the room) and the user's own settings page. */
import { useEffect, useState } from "preact/hooks";
import { api, logout } from "./api.ts";
import { Icon } from "./icons.tsx";
import { navigate } from "./router.ts";
import {
  attempt,
  describeError,
  enableNotifications,
  me,
  notificationsEnabled,
  pageTitle,
  putRoom,
  rooms,
  say,
} from "./store.ts";
import { applyTheme, type ThemeChoice, themeChoice } from "./theme.ts";
import type { Actor, Invite, Room, SessionInfo, User } from "./types.ts";
import { ActionButton, Avatar, Confirm, copyText, Dialog, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

/** Avatar files the server accepts (src/media/images.ts). */
const imageTypes = "image/png,image/jpeg,image/webp,image/gif";
const maxAvatarBytes = 2 * 1024 * 1024;

/** A file input with a preview of the chosen picture before it is uploaded. */
function AvatarPicker(props: {
  id: string;
  name: string;
  current: string | null;
  upload(file: File): Promise<void>;
  remove(): Promise<void>;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);
  return (
    <div class="avatar-picker">
      <Avatar id={props.id} name={props.name} url={preview ?? props.current} size="l" />
      <div>
        <label class="field">
          <span class="field-label">Picture (PNG, JPEG, WebP or GIF, at most 2 MB)</span>
          <input
            type="file"
            accept={imageTypes}
            onChange={(e) => {
              setError(null);
              const chosen = e.currentTarget.files?.[0] ?? null;
              if (chosen && !imageTypes.split(",").includes(chosen.type)) {
                setError("Choose a PNG, JPEG, WebP or GIF picture.");
                e.currentTarget.value = "";
                return;
              }
              if (chosen && chosen.size > maxAvatarBytes) {
                setError("That picture is larger than 2 MB.");
                e.currentTarget.value = "";
                return;
              }
              setFile(chosen);
              setPreview(chosen ? URL.createObjectURL(chosen) : null);
            }}
          />
        </label>
        <FormError error={error} />
        <div class="actions left">
          <button
            type="button"
            class="primary"
            disabled={!file || busy}
            onClick={async () => {
              if (!file) return;
              setBusy(true);
              try {
                await props.upload(file);
                setFile(null);
                setPreview(null);
                say("Picture saved.");
              } catch (e) {
                setError(describeError(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            Upload picture
          </button>
          {props.current ? (
            <button
              type="button"
              disabled={busy}
              onClick={async () => {
                try {
                  await props.remove();
                  say("Picture removed.");
                } catch (e) {
                  setError(describeError(e));
                }
              }}
            >
              Remove picture
            </button>
          ) : null}
        </div>
      </div>
    </div>
  );
}

function formWith(file: File): FormData {
  const form = new FormData();
  form.append("file", file);
  return form;
}

type RoomTab = "general" | "invites" | "bans" | "log" | "leave";

export function RoomSettings(props: { room: Room; canManage(action: string): boolean; onClose(): void }) {
  const { room, canManage: can } = props;
  const tabs: [RoomTab, string][] = [
    ["general", "General"],
    ...(can("invite") ? ([["invites", "Invites"]] as [RoomTab, string][]) : []),
    ...(can("ban") ? ([["bans", "Bans"]] as [RoomTab, string][]) : []),
    ...(can("viewModerationLog") ? ([["log", "Moderation log"]] as [RoomTab, string][]) : []),
    ["leave", can("deleteRoom") ? "Leave or delete" : "Leave"],
  ];
  const [tab, setTab] = useState<RoomTab>("general");
  return (
    <Dialog title={`${room.name}: settings`} onClose={props.onClose} wide>
      <div class="tabs" role="tablist" aria-label="Room settings">
        {tabs.map(([id, label]) => (
          <button
            key={id}
            type="button"
            role="tab"
            id={`tab-${id}`}
            aria-selected={tab === id}
            aria-controls={`panel-${id}`}
            tabIndex={tab === id ? 0 : -1}
            onClick={() => setTab(id)}
            onKeyDown={(e) => {
              const i = tabs.findIndex(([t]) => t === id);
              const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!step) return;
              const next = tabs[(i + step + tabs.length) % tabs.length];
              if (next) {
                setTab(next[0]);
                requestAnimationFrame(() => document.getElementById(`tab-${next[0]}`)?.focus());
              }
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="tab-panel">
        {tab === "general" ? <RoomGeneral room={room} can={can} /> : null}
        {tab === "invites" ? <RoomInvites room={room} /> : null}
        {tab === "bans" ? <RoomBans room={room} /> : null}
        {tab === "log" ? <ModerationLog room={room} /> : null}
        {tab === "leave" ? <RoomLeave room={room} can={can} /> : null}
      </div>
    </Dialog>
  );
}

function RoomGeneral(props: { room: Room; can(action: string): boolean }) {
  const { room, can } = props;
  const [theme, setTheme] = useState(room.theme);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const body: Record<string, unknown> = {};
    if (can("rename")) body.name = String(data.get("name") ?? "");
    if (can("setTopic")) body.topic = String(data.get("topic") ?? "");
    if (can("setTheme")) body.theme = theme;
    if (can("setVisibility") && !room.direct) body.visibility = String(data.get("visibility"));
    putRoom({ ...room, ...(await api<Room>("PATCH", `/rooms/${room.id}`, body)) });
    say("Room saved.");
  }, describeError);
  const editable = can("rename") || can("setTopic") || can("setTheme") || can("setVisibility");
  return (
    <>
      {can("setAvatar") ? (
        <AvatarPicker
          id={room.id}
          name={room.name}
          current={room.avatarUrl}
          upload={async (file) =>
            putRoom({ ...room, ...(await api<Room>("PUT", `/rooms/${room.id}/avatar`, formWith(file))) })
          }
          remove={async () => putRoom({ ...room, ...(await api<Room>("DELETE", `/rooms/${room.id}/avatar`)) })}
        />
      ) : null}
      <form onSubmit={onSubmit}>
        <Field label="Name">
          <input name="name" required maxLength={100} defaultValue={room.name} disabled={!can("rename")} />
        </Field>
        <Field label="Topic">
          <textarea name="topic" maxLength={1000} rows={3} defaultValue={room.topic} disabled={!can("setTopic")} />
        </Field>
        <fieldset class="inline" disabled={!can("setTheme")}>
          <legend>Theme colour</legend>
          <label class="check">
            <input
              type="checkbox"
              checked={theme != null}
              onChange={(e) => setTheme(e.currentTarget.checked ? "#4f5bd5" : null)}
            />{" "}
            Use a colour for this room
          </label>
          {theme != null ? (
            <input
              type="color"
              aria-label="Theme colour"
              value={theme}
              onInput={(e) => setTheme(e.currentTarget.value)}
            />
          ) : null}
        </fieldset>
        {room.direct ? null : (
          <fieldset disabled={!can("setVisibility")}>
            <legend>Who can join</legend>
            <label class="check">
              <input type="radio" name="visibility" value="public" defaultChecked={room.visibility === "public"} />{" "}
              Public: listed in the directory, anyone may join
            </label>
            <label class="check">
              <input type="radio" name="visibility" value="private" defaultChecked={room.visibility === "private"} />{" "}
              Private: invite only
            </label>
          </fieldset>
        )}
        <p class="muted small">
          Address: <code>{room.handle}</code>
        </p>
        <FormError error={error} />
        {editable ? (
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              Save
            </button>
          </div>
        ) : null}
      </form>
    </>
  );
}

function RoomInvites(props: { room: Room }) {
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [created, setCreated] = useState<Invite | null>(null);
  const load = () =>
    api<{ invites: Invite[] }>("GET", `/rooms/${props.room.id}/invites`)
      .then((r) => setInvites(r.invites))
      .catch((e) => say(describeError(e), true));
  useEffect(() => void load(), [props.room.id]);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const expires = String(data.get("expiresIn"));
    const uses = String(data.get("maxUses"));
    const user = String(data.get("user") ?? "")
      .trim()
      .replace(/^@/, "");
    const invite = await api<Invite>("POST", `/rooms/${props.room.id}/invites`, {
      expiresIn: expires === "never" ? null : Number(expires),
      // An invite for one user redeems once, for them.
      maxUses: user ? 1 : uses === "unlimited" ? null : Number(uses),
      ...(user ? { user } : {}),
    });
    if (user) {
      say(`${user} is invited: they were notified.`);
      form.reset();
    }
    setCreated(invite);
    void load();
  }, describeError);
  return (
    <>
      <form onSubmit={onSubmit} class="invite-form">
        <Field label="Expires after">
          <select name="expiresIn">
            <option value="1800">30 minutes</option>
            <option value="3600">1 hour</option>
            <option value="86400">1 day</option>
            <option value="604800" selected>
              7 days
            </option>
            <option value="2592000">30 days</option>
            <option value="never">Never</option>
          </select>
        </Field>
        <Field label="Uses">
          <select name="maxUses">
            <option value="unlimited">No limit</option>
            <option value="1">1 (one-time)</option>
            <option value="5">5</option>
            <option value="10">10</option>
            <option value="100">100</option>
          </select>
        </Field>
        <Field
          label="Invite a user (optional)"
          hint="A name here (bob) or elsewhere (bob@other.example): only they can use it"
        >
          <input name="user" maxLength={300} autoCapitalize="none" spellcheck={false} />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Create invite link
        </button>
      </form>
      <FormError error={error} />
      {created?.url ? (
        <div class="invite-created" role="status">
          <label class="field">
            <span class="field-label">New invite link (shown once)</span>
            <input readOnly value={inviteLink(created)} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <button
            type="button"
            onClick={async () => say((await copyText(inviteLink(created))) ? "Link copied." : "Copy failed.")}
          >
            Copy link
          </button>
        </div>
      ) : null}
      <h3>Active invites</h3>
      {!invites ? <p class="loading">Loading…</p> : null}
      <ul class="plain-list">
        {(invites ?? [])
          .filter((i) => !i.revoked)
          .map((invite) => (
            <li key={invite.id}>
              <span>
                Created {formatDate(invite.createdAt)} · expires {formatDate(invite.expiresAt)} · used {invite.uses}
                {invite.maxUses != null ? ` of ${invite.maxUses}` : ""}
              </span>
              <ActionButton
                class="danger small"
                action={async () => {
                  await api("DELETE", `/rooms/${props.room.id}/invites/${invite.id}`);
                  void load();
                }}
              >
                Revoke
              </ActionButton>
            </li>
          ))}
      </ul>
    </>
  );
}

/** The client's invite page for a code (the API's `url` may point elsewhere). */
function inviteLink(invite: Invite): string {
  return invite.code ? `${location.origin}/invite/${invite.code}` : (invite.url ?? "");
}

function RoomBans(props: { room: Room }) {
  const [bans, setBans] = useState<{ actor: Actor | null; reason: string; createdAt?: string }[] | null>(null);
  const load = () =>
    api<{ bans: { actor: Actor | null; reason: string }[] }>("GET", `/rooms/${props.room.id}/bans`)
      .then((r) => setBans(r.bans))
      .catch((e) => say(describeError(e), true));
  useEffect(() => void load(), [props.room.id]);
  if (!bans) return <p class="loading">Loading…</p>;
  if (bans.length === 0) return <p>Nobody is banned.</p>;
  return (
    <ul class="plain-list">
      {bans.map((ban) => (
        <li key={ban.actor?.id}>
          <span>
            <strong>{ban.actor?.displayName ?? "?"}</strong> @{ban.actor?.handle}
            {ban.reason ? ` — ${ban.reason}` : ""}
          </span>
          <ActionButton
            class="small"
            action={async () => {
              await api("DELETE", `/rooms/${props.room.id}/bans/${ban.actor?.id}`);
              void load();
            }}
          >
            Unban
          </ActionButton>
        </li>
      ))}
    </ul>
  );
}

interface LogEntry {
  id: string;
  action: string;
  actor: Actor | null;
  target: Actor | null;
  reason: string | null;
  createdAt: string;
}

function ModerationLog(props: { room: Room }) {
  const [entries, setEntries] = useState<LogEntry[] | null>(null);
  useEffect(() => {
    api<{ entries: LogEntry[] }>("GET", `/rooms/${props.room.id}/moderation-log?limit=100`)
      .then((r) => setEntries(r.entries))
      .catch((e) => say(describeError(e), true));
  }, [props.room.id]);
  if (!entries) return <p class="loading">Loading…</p>;
  if (entries.length === 0) return <p>Nothing yet.</p>;
  return (
    <ol class="plain-list log">
      {entries.map((e) => (
        <li key={e.id}>
          <span>
            <strong>{e.actor?.displayName ?? "Someone"}</strong> {e.action.replaceAll("_", " ").replaceAll(".", " ")}
            {e.target ? (
              <>
                {" "}
                <strong>{e.target.displayName}</strong>
              </>
            ) : null}
            {e.reason ? ` — “${e.reason}”` : ""}
          </span>
          <span class="muted small">{formatDate(e.createdAt)}</span>
        </li>
      ))}
    </ol>
  );
}

function RoomLeave(props: { room: Room; can(action: string): boolean }) {
  const [confirm, setConfirm] = useState<"leave" | "delete" | null>(null);
  const { room } = props;
  const drop = () => {
    rooms.value = rooms.peek().filter((r) => r.id !== room.id);
    navigate("/", true);
  };
  return (
    <>
      <p>
        Leaving removes the room from your list.{" "}
        {room.visibility === "private" ? "You need a new invite to come back." : ""}
      </p>
      <button type="button" onClick={() => setConfirm("leave")}>
        Leave room
      </button>
      {props.can("deleteRoom") ? (
        <>
          <p>Deleting the room removes it and its history for everyone.</p>
          <button type="button" class="danger" onClick={() => setConfirm("delete")}>
            Delete room
          </button>
        </>
      ) : null}
      {confirm ? (
        <Confirm
          title={confirm === "leave" ? `Leave ${room.name}?` : `Delete ${room.name}?`}
          action={confirm === "leave" ? "Leave" : "Delete for everyone"}
          onClose={() => setConfirm(null)}
          onConfirm={async () => {
            await attempt(async () => {
              if (confirm === "leave") await api("POST", `/rooms/${room.id}/leave`);
              else await api("DELETE", `/rooms/${room.id}`);
              drop();
            });
          }}
        >
          <p>{confirm === "leave" ? "You can join again later if the room allows it." : "This cannot be undone."}</p>
        </Confirm>
      ) : null}
    </>
  );
}

export function UserSettings() {
  const user = me.value;
  useEffect(() => {
    pageTitle.value = "Settings";
  }, []);
  if (!user) return null;
  return (
    <section class="page settings" aria-labelledby="settings-title">
      <header class="page-head">
        <a href="/" class="icon-button back" aria-label="Back to rooms">
          <Icon name="back" />
        </a>
        <h1 id="settings-title">Settings</h1>
      </header>
      <Profile user={user} />
      <Appearance />
      <Sessions />
      <Blocks />
      <Password />
    </section>
  );
}

function Profile(props: { user: User }) {
  const { user } = props;
  const [useColor, setUseColor] = useState(user.color != null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    me.value = await api<User>("PATCH", "/me", {
      displayName: String(data.get("displayName") ?? "").trim(),
      bio: String(data.get("bio") ?? ""),
      color: useColor ? String(data.get("color")) : null,
    });
    say("Profile saved.");
  }, describeError);
  return (
    <section class="card" aria-labelledby="profile-title">
      <h2 id="profile-title">Profile</h2>
      <p class="muted small">
        You are <code>@{user.handle}</code> · <a href={`/users/${user.username}`}>your public profile</a>
      </p>
      <AvatarPicker
        id={user.id}
        name={user.displayName || user.username}
        current={user.avatarUrl}
        upload={async (file) => {
          me.value = await api<User>("PUT", "/me/avatar", formWith(file));
        }}
        remove={async () => {
          me.value = await api<User>("DELETE", "/me/avatar");
        }}
      />
      <form onSubmit={onSubmit}>
        <Field label="Display name">
          <input name="displayName" maxLength={64} defaultValue={user.displayName} />
        </Field>
        <Field label="Bio">
          <textarea name="bio" rows={3} maxLength={500} defaultValue={user.bio} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={useColor} onChange={(e) => setUseColor(e.currentTarget.checked)} /> Name
          colour
        </label>
        {useColor ? (
          <Field label="Colour">
            <input type="color" name="color" defaultValue={user.color ?? "#4f5bd5"} />
          </Field>
        ) : null}
        <FormError error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Save profile
          </button>
        </div>
      </form>
    </section>
  );
}

function Appearance() {
  return (
    <section class="card" aria-labelledby="appearance-title">
      <h2 id="appearance-title">Appearance and notifications</h2>
      <fieldset>
        <legend>Theme</legend>
        {(["system", "light", "dark"] as ThemeChoice[]).map((choice) => (
          <label class="check" key={choice}>
            <input
              type="radio"
              name="theme"
              value={choice}
              checked={themeChoice.value === choice}
              onChange={() => applyTheme(choice)}
            />{" "}
            {choice === "system" ? "Follow the system" : choice === "light" ? "Light" : "Dark"}
          </label>
        ))}
      </fieldset>
      <p>
        {notificationsEnabled.value ? (
          "You are notified of mentions while this tab is in the background."
        ) : (
          <button type="button" onClick={() => void enableNotifications()}>
            Notify me of mentions
          </button>
        )}
      </p>
    </section>
  );
}

function Sessions() {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<{ sessions: SessionInfo[] }>("GET", "/auth/sessions")
      .then((r) => setSessions(r.sessions))
      .catch((e) => setError(describeError(e)));
  useEffect(() => void load(), []);
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions</h2>
      <FormError error={error} />
      <ul class="plain-list">
        {(sessions ?? []).map((s) => (
          <li key={s.id}>
            <span>
              <strong>{s.deviceLabel || "Unknown device"}</strong>
              {s.current ? " (this browser)" : ""}
              <br />
              <span class="muted small">
                last used {formatDate(s.lastUsedAt)}
                {s.address ? ` from ${s.address}` : ""}
              </span>
            </span>
            {s.current ? (
              <button type="button" class="small" onClick={() => void logout()}>
                Sign out
              </button>
            ) : (
              <button
                type="button"
                class="danger small"
                aria-label={`Revoke ${s.deviceLabel || "session"}`}
                onClick={async () => {
                  try {
                    await api("DELETE", `/auth/sessions/${s.id}`);
                    say("Session revoked.");
                    void load();
                  } catch (e) {
                    setError(describeError(e));
                  }
                }}
              >
                Revoke
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Blocks() {
  const [blocks, setBlocks] = useState<{ actor: Actor }[] | null>(null);
  const load = () =>
    api<{ blocks: { actor: Actor }[] }>("GET", "/blocks")
      .then((r) => setBlocks(r.blocks))
      .catch((e) => say(describeError(e), true));
  useEffect(() => void load(), []);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const user = String(new FormData(form).get("user") ?? "")
      .trim()
      .replace(/^@/, "");
    await api("POST", "/blocks", { user });
    form.reset();
    say(`Blocked ${user}.`);
    void load();
  }, describeError);
  return (
    <section class="card" aria-labelledby="blocks-title">
      <h2 id="blocks-title">Blocked users</h2>
      <p class="muted small">Blocked users cannot send you direct messages or contact requests.</p>
      <form onSubmit={onSubmit} class="inline-form">
        <Field label="Block a user">
          <input name="user" required placeholder="name or name@server" maxLength={300} />
        </Field>
        <button type="submit" disabled={busy}>
          Block
        </button>
      </form>
      <FormError error={error} />
      <ul class="plain-list">
        {(blocks ?? []).map((b) => (
          <li key={b.actor.id}>
            <span>
              {b.actor.displayName} <span class="muted">@{b.actor.handle}</span>
            </span>
            <ActionButton
              class="small"
              action={async () => {
                await api("DELETE", `/blocks/${encodeURIComponent(b.actor.handle)}`);
                void load();
              }}
            >
              Unblock
            </ActionButton>
          </li>
        ))}
        {blocks?.length === 0 ? <li class="muted">Nobody.</li> : null}
      </ul>
    </section>
  );
}

function Password() {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const { revokedSessions } = await api<{ revokedSessions: number }>("POST", "/auth/password", {
      currentPassword: String(data.get("current")),
      newPassword: String(data.get("next")),
    });
    form.reset();
    say(`Password changed; ${revokedSessions} other session${revokedSessions === 1 ? "" : "s"} signed out.`);
  }, describeError);
  return (
    <section class="card" aria-labelledby="password-title">
      <h2 id="password-title">Password</h2>
      <form onSubmit={onSubmit}>
        <Field label="Current password">
          <input type="password" name="current" required autoComplete="current-password" maxLength={256} />
        </Field>
        <Field label="New password" hint="8 characters or more">
          <input type="password" name="next" required minLength={8} maxLength={256} autoComplete="new-password" />
        </Field>
        <FormError error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </section>
  );
}
