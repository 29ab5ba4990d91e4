/** The notifications list and the contacts page. */
import { useEffect } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { isolate, Name, PhraseView, phraseText, plain, UserText } from "./names.tsx";
import { openDirect, Page } from "./pages.tsx";
import { RelativeTime } from "./relative-time.ts";
import {
  attempt,
  contacts,
  describeNotification,
  loadContacts,
  loadNotifications,
  markNotificationsRead,
  notifications,
  notificationsAtEnd,
  notificationsLoaded,
  openNotification,
  say,
  unreadNotifications,
} from "./store.ts";
import type { Actor } from "./types.ts";
import { ActionButton, Avatar, Field, FormError, formatDate, PresenceDot, useSubmit } from "./ui.tsx";

export function NotificationsPage() {
  useEffect(() => {
    void loadNotifications();
  }, []);
  const list = notifications.value;
  const unread = unreadNotifications.value;
  return (
    <Page title="Notifications">
      <div class="page-actions">
        <span class="muted">{unread > 0 ? `${unread} unread` : "All read"}</span>
        {unread > 0 ? (
          <button type="button" onClick={() => void markNotificationsRead()}>
            Mark all read
          </button>
        ) : null}
      </div>
      {!notificationsLoaded.value ? <p class="loading">Loading…</p> : null}
      {notificationsLoaded.value && list.length === 0 ? (
        <p class="muted">Mentions, replies, invites and contact requests show up here.</p>
      ) : null}
      <ul class="notification-list" aria-label="Notifications">
        {list.map((n) => {
          const { title, body } = describeNotification(n);
          return (
            <li key={n.id} class={n.read ? "notification" : "notification unread"}>
              <Avatar
                id={n.actor?.id ?? n.id}
                name={n.actor?.displayName || n.actor?.handle || "?"}
                url={n.actor?.avatarUrl}
                size="s"
                color={n.actor?.color}
              />
              <button type="button" class="notification-open" onClick={() => void openNotification(n)}>
                <span class="notification-title">
                  {n.read ? null : <span class="visually-hidden">Unread: </span>}
                  <PhraseView phrase={title} />
                </span>
                {body ? <UserText as="span" class="notification-body" text={body} /> : null}
                <RelativeTime class="muted small" at={n.createdAt} />
              </button>
              {n.read ? null : (
                <button
                  type="button"
                  class="link small"
                  aria-label={`Mark read: ${phraseText(title, plain)}`}
                  onClick={() => void markNotificationsRead([n.id])}
                >
                  Mark read
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {notificationsLoaded.value && !notificationsAtEnd.value && list.length > 0 ? (
        <button type="button" onClick={() => void loadNotifications(true)}>
          Load older
        </button>
      ) : null}
    </Page>
  );
}

function Person(props: { actor: Actor; presence?: "online" | "offline" }) {
  const { actor } = props;
  return (
    <span class="person">
      <Avatar
        id={actor.id}
        name={actor.displayName || actor.handle}
        url={actor.avatarUrl}
        size="s"
        color={actor.color}
      />
      {props.presence ? <PresenceDot actorId={actor.id} initial={props.presence} /> : null}
      <a href={`/users/${encodeURIComponent(actor.handle)}`}>
        <Name text={actor.displayName || actor.handle} />
      </a>{" "}
      <Name class="muted small" text={`@${actor.handle}`} />
    </span>
  );
}

export function ContactsPage() {
  useEffect(() => {
    void loadContacts();
  }, []);
  const data = contacts.value;
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const user = String(new FormData(form).get("user") ?? "")
      .trim()
      .replace(/^@/, "");
    if (!user) return;
    const answer = await api<{ state: string; actor: Actor }>("POST", "/contacts", { user });
    form.reset();
    say(
      answer.state === "contact"
        ? `${isolate(answer.actor.displayName || answer.actor.handle)} is now a contact.`
        : `Request sent to ${isolate(answer.actor.displayName || answer.actor.handle)}.`,
    );
    void loadContacts();
  }, describeError);
  const act = (task: () => Promise<unknown>) => attempt(task).then(() => loadContacts());
  return (
    <Page title="Contacts">
      <form onSubmit={onSubmit} class="card narrow inline-form">
        <Field label="Add a contact" hint="A name on this server (bob) or elsewhere (bob@other.example)">
          <input name="user" required maxLength={300} autoCapitalize="none" spellcheck={false} />
        </Field>
        <FormError error={error} />
        <button type="submit" class="primary" disabled={busy}>
          Send request
        </button>
      </form>
      {!data ? <p class="loading">Loading…</p> : null}
      {data && data.incoming.length > 0 ? (
        <>
          <h2 class="section-title">Requests for you</h2>
          <ul class="plain-list contact-list" aria-label="Requests for you">
            {data.incoming.map((r) => (
              <li key={r.id}>
                <Person actor={r.actor} />
                <span class="row-actions">
                  <ActionButton
                    class="primary"
                    action={() => act(() => api("POST", `/contacts/requests/${r.id}/accept`))}
                  >
                    Accept
                  </ActionButton>
                  <ActionButton action={() => act(() => api("POST", `/contacts/requests/${r.id}/decline`))}>
                    Decline
                  </ActionButton>
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {data && data.outgoing.length > 0 ? (
        <>
          <h2 class="section-title">Waiting for an answer</h2>
          <ul class="plain-list contact-list" aria-label="Waiting for an answer">
            {data.outgoing.map((r) => (
              <li key={r.id}>
                <Person actor={r.actor} />
                <span class="row-actions">
                  <ActionButton action={() => act(() => api("DELETE", `/contacts/requests/${r.id}`))}>
                    Cancel request
                  </ActionButton>
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {data ? (
        <>
          <h2 class="section-title">Contacts</h2>
          {data.contacts.length === 0 ? <p class="muted">No contacts yet.</p> : null}
          <ul class="plain-list contact-list" aria-label="Contacts">
            {data.contacts.map((c) => (
              <li key={c.actor.id}>
                <Person actor={c.actor} presence={c.presence} />
                <span class="muted small">since {formatDate(c.since)}</span>
                <span class="row-actions">
                  <ActionButton
                    class="primary"
                    action={() => openDirect([c.actor.handle]).catch((e) => say(describeError(e), true))}
                  >
                    Message
                  </ActionButton>
                  <ActionButton
                    action={() => act(() => api("DELETE", `/contacts/${encodeURIComponent(c.actor.handle)}`))}
                  >
                    Remove
                  </ActionButton>
                </span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Page>
  );
}
