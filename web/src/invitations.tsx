/**
 * Invitation cards: the composer's "Invite to…" dialog, and the card an invitation message
 * shows, with Accept and Decline for those invited and who answered what, live.
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { Name } from "./names.tsx";
import { RelativeTime } from "./relative-time.ts";
import { roomState } from "./room-state.ts";
import { say } from "./status.ts";
import { me } from "./store.ts";
import type { Actor, Invitation, Message, Room } from "./types.ts";
import { Dialog, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

const kindNames: Record<Invitation["kind"], string> = { game: "Game", call: "Call", event: "Event" };

/** Whether the invitation has expired by now: the server's word, or the clock past `expiresAt`. */
function useExpired(invitation: Invitation): boolean {
  const at = Date.parse(invitation.expiresAt);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (invitation.expired || now >= at) return;
    // Flips by itself when it expires (a timer is at most ~24.8 days; invitations last a week).
    const timer = setTimeout(() => setNow(Date.now()), Math.min(at - now + 50, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [at, now, invitation.expired]);
  return invitation.expired || now >= at;
}

function names(actors: Actor[]): string {
  return actors.map((a) => a.displayName || a.handle).join(", ");
}

/** The card under an invitation message. */
export function InvitationCard(props: { message: Message; room: Room }) {
  const { message, room } = props;
  const invitation = message.invitation as Invitation;
  const expired = useExpired(invitation);
  const [busy, setBusy] = useState(false);
  const user = me.value;
  const mine = invitation.responses.find((r) => r.actor.id === user?.id)?.answer;
  const invited =
    user != null &&
    message.author?.id !== user.id &&
    (invitation.everyone || invitation.invitees.some((a) => a.id === user.id));
  const accepted = invitation.responses.filter((r) => r.answer === "accepted").map((r) => r.actor);
  const declined = invitation.responses.filter((r) => r.answer === "declined").map((r) => r.actor);
  const answer = async (value: "accepted" | "declined") => {
    setBusy(true);
    try {
      const answered = await api<{ invitation: Invitation; pending?: true }>(
        "PUT",
        `/rooms/${room.id}/messages/${message.id}/invitation/answer`,
        { answer: value },
      );
      // In a room on another server the answer shows when the room announces it.
      if (!answered.pending) roomState(room.id).patch(message.id, (m) => ({ ...m, invitation: answered.invitation }));
      else say("Answer sent to the room's server.");
    } catch (error) {
      say(describeError(error), true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class={`invitation-card${expired ? " expired" : ""}`} aria-label={`Invitation: ${invitation.title}`}>
      <p class="invitation-head">
        <span class="invitation-kind">{kindNames[invitation.kind]}</span>{" "}
        <strong>
          <Name text={invitation.title} />
        </strong>
      </p>
      {invitation.link ? (
        <p class="invitation-link">
          <a href={invitation.link} target="_blank" rel="noopener noreferrer nofollow">
            <Icon name="link" size={14} /> {invitation.link}
          </a>
        </p>
      ) : null}
      {invitation.startsAt ? (
        <p class="invitation-time">
          Starts <time dateTime={invitation.startsAt}>{formatDate(invitation.startsAt)}</time>
        </p>
      ) : null}
      <p class="invitation-who">
        For {invitation.everyone ? "everyone here" : <Name text={names(invitation.invitees)} />}
        {" · "}
        {expired ? (
          <span class="invitation-state">Expired</span>
        ) : (
          <>
            expires <RelativeTime at={invitation.expiresAt} />
          </>
        )}
      </p>
      <ul class="invitation-answers" aria-live="polite">
        {accepted.length > 0 ? (
          <li class="accepted">
            Accepted: <Name text={names(accepted)} />
          </li>
        ) : null}
        {declined.length > 0 ? (
          <li class="declined">
            Declined: <Name text={names(declined)} />
          </li>
        ) : null}
      </ul>
      {invited && !expired ? (
        <div class="invitation-actions">
          <button
            type="button"
            class={mine === "accepted" ? "primary" : ""}
            aria-pressed={mine === "accepted"}
            disabled={busy}
            onClick={() => void answer("accepted")}
          >
            Accept
          </button>
          <button
            type="button"
            aria-pressed={mine === "declined"}
            disabled={busy}
            onClick={() => void answer("declined")}
          >
            Decline
          </button>
        </div>
      ) : null}
    </section>
  );
}

/** The composer's "Invite to…" button and its dialog. */
export function InviteButton(props: { room: Room; returnFocus?: () => HTMLElement | null | undefined }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        class="icon-button"
        aria-label="Invite to…"
        title="Invite to a game, a call or an event"
        onClick={() => setOpen(true)}
      >
        <Icon name="invite" />
      </button>
      {open ? <InviteDialog room={props.room} onClose={() => setOpen(false)} returnFocus={props.returnFocus} /> : null}
    </>
  );
}

function InviteDialog(props: { room: Room; onClose(): void; returnFocus?: () => HTMLElement | null | undefined }) {
  const state = roomState(props.room.id);
  const members = state.members.value;
  useEffect(() => {
    if (members == null) void state.loadMembers();
  }, [props.room.id]);
  const others = (members ?? []).filter((m) => m.actor.id !== me.value?.id);
  const { busy, error, onSubmit } = useSubmit(
    async (form) => {
      const data = new FormData(form);
      const chosen = data.getAll("to").map(String);
      const link = String(data.get("link") ?? "").trim();
      const starts = String(data.get("startsAt") ?? "");
      const everyone = data.get("everyone") === "on";
      if (!everyone && chosen.length === 0) throw new Error("Choose who to invite, or everyone.");
      const message = await api<Message>("PUT", `/rooms/${props.room.id}/invitations/${crypto.randomUUID()}`, {
        kind: String(data.get("kind")),
        title: String(data.get("title") ?? ""),
        ...(link ? { link } : {}),
        ...(starts ? { startsAt: new Date(starts).toISOString() } : {}),
        to: everyone ? "everyone" : chosen,
        expiresIn: Number(data.get("expiresIn")),
      });
      if (!message.pending) state.answered(message);
      props.onClose();
    },
    (e) => (e instanceof Error && !("code" in e) ? e.message : describeError(e)),
  );
  return (
    <Dialog title="Invite to…" onClose={props.onClose} returnFocus={props.returnFocus}>
      <form onSubmit={onSubmit} class="invitation-form">
        <Field label="What">
          <select name="kind">
            <option value="game">A game</option>
            <option value="call">A call</option>
            <option value="event">An event</option>
          </select>
        </Field>
        <Field label="Title">
          <input name="title" required maxLength={200} />
        </Field>
        <Field label="Link (optional)">
          <input name="link" type="url" maxLength={2048} placeholder="https://" />
        </Field>
        <Field label="Starts (optional)">
          <input name="startsAt" type="datetime-local" />
        </Field>
        <fieldset class="invitation-invitees">
          <legend>Who</legend>
          <label>
            <input type="checkbox" name="everyone" defaultChecked={props.room.direct} /> Everyone here
          </label>
          {others.map((m) => (
            <label key={m.actor.id}>
              <input type="checkbox" name="to" value={m.actor.id} />{" "}
              <Name text={m.actor.displayName || m.actor.handle} />
            </label>
          ))}
        </fieldset>
        <Field label="Expires after">
          <select name="expiresIn" defaultValue="86400">
            <option value="3600">1 hour</option>
            <option value="86400">1 day</option>
            <option value="259200">3 days</option>
            <option value="604800">7 days</option>
          </select>
        </Field>
        <FormError error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Send invitation
        </button>
      </form>
    </Dialog>
  );
}
