/**
 * A room's incoming webhooks, for its moderators: make one (its URL shown once, with a copy
 * button), rename, revoke.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Name } from "./names.tsx";
import { say } from "./store.ts";
import type { Room } from "./types.ts";
import { ActionButton, copyText, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

/** A webhook as the API lists it (never its URL). */
interface Webhook {
  id: string;
  name: string;
  handle: string;
  avatarUrl: string | null;
  createdAt: string;
}

export function RoomWebhooks(props: { room: Room }) {
  const { room } = props;
  const [webhooks, setWebhooks] = useState<Webhook[] | null>(null);
  const [created, setCreated] = useState<{ name: string; url: string } | null>(null);
  const load = () =>
    api<{ webhooks: Webhook[] }>("GET", `/rooms/${room.id}/webhooks`)
      .then((r) => setWebhooks(r.webhooks))
      .catch((e) => say(describeError(e), true));
  useEffect(() => void load(), [room.id]);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const name = String(new FormData(form).get("name") ?? "");
    const made = await api<{ webhook: Webhook; url: string }>("POST", `/rooms/${room.id}/webhooks`, { name });
    setCreated({ name: made.webhook.name, url: made.url });
    form.reset();
    void load();
  }, describeError);
  return (
    <>
      <p class="muted small">
        A program POSTs JSON to a webhook's URL to post here as the webhook: <code>{'{"content": "…"}'}</code>, or
        Slack's <code>{'{"text": "…"}'}</code>, or Discord's shape. Anyone with the URL can post, so keep it secret.
      </p>
      {room.allowBots === false ? (
        <p class="muted small">This room does not allow bots: webhooks cannot post.</p>
      ) : null}
      <form onSubmit={onSubmit} class="invite-form">
        <Field label="Webhook name" hint="Shown as the author of its messages">
          <input name="name" required maxLength={64} dir="auto" />
        </Field>
        <button type="submit" class="primary" disabled={busy}>
          Create webhook
        </button>
      </form>
      <FormError error={error} />
      {created ? (
        <div class="invite-created" role="status">
          <label class="field">
            <span class="field-label">
              URL of <Name text={created.name} /> (shown once: copy it now)
            </span>
            <input readOnly value={created.url} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <button
            type="button"
            onClick={async () => say((await copyText(created.url)) ? "URL copied." : "Copy failed.")}
          >
            Copy URL
          </button>
        </div>
      ) : null}
      <h3>Webhooks</h3>
      {!webhooks ? <p class="loading">Loading…</p> : null}
      {webhooks?.length === 0 ? <p>No webhooks yet.</p> : null}
      <ul class="plain-list webhook-list">
        {(webhooks ?? []).map((webhook) => (
          <li key={webhook.id}>
            <span>
              <strong>
                <Name text={webhook.name} />
              </strong>{" "}
              <span class="muted small">made {formatDate(webhook.createdAt)}</span>
            </span>
            <span>
              <ActionButton
                class="small"
                action={async () => {
                  const name = prompt("New name for the webhook", webhook.name)?.trim();
                  if (!name) return;
                  await api("PATCH", `/rooms/${room.id}/webhooks/${webhook.id}`, { name });
                  void load();
                }}
              >
                Rename
              </ActionButton>{" "}
              <ActionButton
                class="danger small"
                action={async () => {
                  await api("DELETE", `/rooms/${room.id}/webhooks/${webhook.id}`);
                  say(`${webhook.name} is revoked: its URL no longer works.`);
                  void load();
                }}
              >
                Revoke
              </ActionButton>
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}
