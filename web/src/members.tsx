/** The member panel: roles, presence, nicknames and colours, and moderation for those allowed. */
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { BotBadge, isolate, lookalikesIn, memberName, Name, PersonName } from "./names.tsx";
import { me, type RoomState, say } from "./store.ts";
import type { Member, Role, Room } from "./types.ts";
import { Avatar, Dialog, Field, FormError, PresenceDot, useSubmit } from "./ui.tsx";

const roleOrder: Role[] = ["owner", "admin", "moderator", "member"];
const rank = (role: Role | null) => (role ? roleOrder.length - 1 - roleOrder.indexOf(role) : -1);

/** Closes the moderation menu around an element (and gives its toggle the focus back). */
function closeMenu(inside: Element, focus = false): void {
  const menu = inside.closest("details");
  if (!menu) return;
  menu.open = false;
  if (focus) menu.querySelector("summary")?.focus();
}

export function MemberPanel(props: { room: Room; state: RoomState; onClose(): void }) {
  const { room, state } = props;
  const members = state.members.value;
  const [acting, setActing] = useState<{ member: Member; action: "kick" | "ban" } | null>(null);
  const [editingMine, setEditingMine] = useState(false);
  const user = me.value;
  const looksAlike = lookalikesIn(members);
  const can = (action: string) => room.permissions.includes(action);
  // In a direct conversation nobody has a role to change, and between two nobody removes the other.
  const changeRoles = can("changeRoles") && !room.direct;
  const pair = room.direct && (room.others?.length ?? 0) <= 1;
  const sorted = [...(members ?? [])].sort(
    (a, b) => rank(b.role) - rank(a.role) || a.actor.displayName.localeCompare(b.actor.displayName),
  );
  return (
    <aside
      class="member-panel"
      id="member-panel"
      aria-labelledby="members-title"
      onKeyDown={(e) => {
        if (e.key === "Escape" && !e.defaultPrevented && !(e.target as Element).closest("details[open], dialog")) {
          props.onClose();
        }
      }}
    >
      <header class="panel-head">
        <h2 id="members-title">Members{members ? ` (${members.length})` : ""}</h2>
        <button
          type="button"
          class="icon-button"
          aria-label="Your nickname and colour here"
          title="Your nickname and colour here"
          onClick={() => setEditingMine(true)}
        >
          <Icon name="edit" />
        </button>
        <button type="button" class="icon-button" aria-label="Close members" title="Close" onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </header>
      {!members ? <p class="loading">Loading…</p> : null}
      <ul class="member-list">
        {sorted.map((m) => {
          const name = memberName(m);
          const alike = looksAlike(m.actor.id, name);
          const outranks = rank(room.role) > rank(m.role) && m.actor.id !== user?.id;
          const role = m.role !== "member" && !room.direct ? m.role : null;
          return (
            <li key={m.actor.id} class={alike ? "member lookalike" : "member"}>
              <span class="member-avatar">
                <span class="author-avatar" data-user-card={m.actor.handle}>
                  <Avatar
                    id={m.actor.id}
                    name={name}
                    url={m.actor.avatarUrl}
                    size="s"
                    color={m.color ?? m.actor.color}
                  />
                </span>
                <PresenceDot actorId={m.actor.id} initial={m.presence} />
              </span>
              <span class="member-text">
                <a
                  href={`/users/${encodeURIComponent(m.actor.handle)}`}
                  class="member-name"
                  style={(m.color ?? m.actor.color) ? { color: m.color ?? m.actor.color ?? undefined } : undefined}
                >
                  <PersonName name={name} handle={m.actor.handle} alike={alike} />
                  {m.actor.bot ? <BotBadge webhook={m.actor.webhook} /> : null}
                </a>
                <span class="muted small">
                  {/* A direct conversation's people are equals there: whoever opened it is no "owner". */}
                  {role ? role : null}
                  {role && !alike ? " · " : null}
                  {/* Beside the name already when it looks like another member's. */}
                  {alike ? null : <Name text={`@${m.actor.handle}`} />}
                </span>
              </span>
              {outranks && !pair && (changeRoles || can("kick") || can("ban")) ? (
                <details class="member-menu" onKeyDown={(e) => e.key === "Escape" && closeMenu(e.currentTarget, true)}>
                  <summary aria-label={`Moderate ${name}`}>
                    <Icon name="more" />
                  </summary>
                  <div class="menu">
                    {changeRoles ? (
                      <label class="field">
                        <span class="field-label">Role</span>
                        <select
                          value={m.role}
                          onChange={async (e) => {
                            const select = e.currentTarget;
                            const role = select.value as Role;
                            closeMenu(select);
                            try {
                              await api("PUT", `/rooms/${room.id}/members/${m.actor.id}/role`, { role });
                              say(`${isolate(name)} is now ${role}.`);
                            } catch (err) {
                              say(describeError(err), true);
                              select.value = m.role;
                            }
                          }}
                        >
                          {roleOrder
                            .filter((r) => rank(r) < rank(room.role) || (room.role === "owner" && r === "owner"))
                            .map((r) => (
                              <option key={r} value={r}>
                                {r}
                              </option>
                            ))}
                        </select>
                      </label>
                    ) : null}
                    {can("kick") ? (
                      <button
                        type="button"
                        onClick={(e) => {
                          closeMenu(e.currentTarget);
                          setActing({ member: m, action: "kick" });
                        }}
                      >
                        Remove from room
                      </button>
                    ) : null}
                    {can("ban") ? (
                      <button
                        type="button"
                        class="danger"
                        onClick={(e) => {
                          closeMenu(e.currentTarget);
                          setActing({ member: m, action: "ban" });
                        }}
                      >
                        Ban
                      </button>
                    ) : null}
                  </div>
                </details>
              ) : null}
            </li>
          );
        })}
      </ul>
      {acting ? <ModerateDialog room={room} {...acting} onClose={() => setActing(null)} /> : null}
      {editingMine ? <MyMembership room={room} state={state} onClose={() => setEditingMine(false)} /> : null}
    </aside>
  );
}

function ModerateDialog(props: { room: Room; member: Member; action: "kick" | "ban"; onClose(): void }) {
  const name = memberName(props.member);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const reason = String(new FormData(form).get("reason") ?? "").trim();
    const body = reason ? { reason } : {};
    if (props.action === "kick")
      await api("POST", `/rooms/${props.room.id}/members/${props.member.actor.id}/kick`, body);
    else await api("PUT", `/rooms/${props.room.id}/bans/${props.member.actor.id}`, body);
    say(props.action === "kick" ? `${isolate(name)} was removed.` : `${isolate(name)} was banned.`);
    props.onClose();
  }, describeError);
  return (
    <Dialog
      title={
        <>
          {props.action === "kick" ? "Remove" : "Ban"} <Name text={name} />?
        </>
      }
      onClose={props.onClose}
    >
      <form onSubmit={onSubmit}>
        <p>
          {props.action === "kick"
            ? "They leave the room and can join again (or use an invite)."
            : "They leave the room and cannot come back until unbanned."}
        </p>
        <Field label="Reason (optional, kept in the moderation log)">
          <input name="reason" maxLength={500} />
        </Field>
        <FormError error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={busy}>
            {props.action === "kick" ? "Remove" : "Ban"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function MyMembership(props: { room: Room; state: RoomState; onClose(): void }) {
  const mine = props.state.members.value?.find((m) => m.actor.id === me.value?.id);
  const [useColor, setUseColor] = useState(mine?.color != null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const nickname = String(data.get("nickname") ?? "").trim();
    await api("PATCH", `/rooms/${props.room.id}/members/me`, {
      nickname: nickname || null,
      color: useColor ? String(data.get("color")) : null,
    });
    say("Saved.");
    props.onClose();
  }, describeError);
  return (
    <Dialog
      title={
        <>
          You in <Name text={props.room.name} />
        </>
      }
      onClose={props.onClose}
    >
      <form onSubmit={onSubmit}>
        <Field label="Nickname in this room" hint="Empty: your display name">
          <input name="nickname" maxLength={64} dir="auto" defaultValue={mine?.nickname ?? ""} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={useColor} onChange={(e) => setUseColor(e.currentTarget.checked)} /> Use a name
          colour in this room
        </label>
        {useColor ? (
          <Field label="Colour">
            <input type="color" name="color" defaultValue={mine?.color ?? "#4f5bd5"} />
          </Field>
        ) : null}
        <FormError error={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
