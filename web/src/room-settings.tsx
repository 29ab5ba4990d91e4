/** Room settings: a dialog over the room with its general settings, invites, webhooks, bans, log, and leaving. */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Name } from "./names.tsx";
import { RoomGeneral } from "./room-general.tsx";
import { RoomWebhooks } from "./room-webhooks.tsx";
import { navigate } from "./router.ts";
import { attempt, rooms, say } from "./store.ts";
import type { Actor, Invite, Room } from "./types.ts";
import { ActionButton, Confirm, copyText, Dialog, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

type RoomTab = "general" | "invites" | "webhooks" | "bans" | "log" | "leave";

export function RoomSettings(props: { room: Room; canManage(action: string): boolean; onClose(): void }) {
  const { room, canManage: can } = props;
  const tabs: [RoomTab, string][] = [
    ["general", "General"],
    ...(can("invite") ? ([["invites", "Invites"]] as [RoomTab, string][]) : []),
    ...(can("manageWebhooks") && !room.remote && !room.direct
      ? ([["webhooks", "Webhooks"]] as [RoomTab, string][])
      : []),
    ...(can("ban") ? ([["bans", "Bans"]] as [RoomTab, string][]) : []),
    ...(can("viewModerationLog") ? ([["log", "Moderation log"]] as [RoomTab, string][]) : []),
    ["leave", can("deleteRoom") ? "Leave or delete" : "Leave"],
  ];
  const [tab, setTab] = useState<RoomTab>("general");
  return (
    <Dialog
      title={
        <>
          <Name text={room.name} />: settings
        </>
      }
      onClose={props.onClose}
      wide
    >
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
        {tab === "webhooks" ? <RoomWebhooks room={room} /> : null}
        {tab === "bans" ? <RoomBans room={room} /> : null}
        {tab === "log" ? <ModerationLog room={room} /> : null}
        {tab === "leave" ? <RoomLeave room={room} can={can} /> : null}
      </div>
    </Dialog>
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
            <strong>
              <Name text={ban.actor?.displayName ?? "?"} />
            </strong>{" "}
            <Name text={`@${ban.actor?.handle ?? ""}`} />
            {ban.reason ? (
              <>
                {" — "}
                <Name text={ban.reason} />
              </>
            ) : null}
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
            <strong>
              <Name text={e.actor?.displayName ?? "Someone"} />
            </strong>{" "}
            {e.action.replaceAll("_", " ").replaceAll(".", " ")}
            {e.target ? (
              <>
                {" "}
                <strong>
                  <Name text={e.target.displayName} />
                </strong>
              </>
            ) : null}
            {e.reason ? (
              <>
                {" — “"}
                <Name text={e.reason} />
                {"”"}
              </>
            ) : null}
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
          title={
            <>
              {confirm === "leave" ? "Leave" : "Delete"} <Name text={room.name} />?
            </>
          }
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
