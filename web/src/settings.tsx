/**
 * The user's own settings page: profile, appearance, sessions, bots and tokens, blocks,
 * password, an export of one's data and deleting the account.
 */
import { useEffect, useState } from "preact/hooks";
import { DataExportSection, DeleteAccountSection } from "./account-data.tsx";
import { api, logout } from "./api.ts";
import { AvatarPicker, formWith } from "./avatar-picker.tsx";
import { ConfirmBlock } from "./block-confirm.tsx";
import { BotsAndTokens } from "./bots-settings.tsx";
import { CustomEmojiAdmin } from "./custom-emoji-admin.tsx";
import { describeError } from "./errors.ts";
import { Icon } from "./icons.tsx";
import { linkPreviewsOn, setLinkPreviews } from "./link-cards.tsx";
import { Name } from "./names.tsx";
import { ProfileFieldsEditor } from "./profile-fields.tsx";
import { enableNotifications, me, notificationsEnabled, pageTitle, say } from "./store.ts";
import { applyTheme, type ThemeChoice, themeChoice } from "./theme.ts";
import type { Actor, SessionInfo, User } from "./types.ts";
import { ActionButton, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

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
        <a href="/settings/stickers" class="button small page-head-action">
          <Icon name="sticker" size={16} />
          Sticker packs
        </a>
      </header>
      <Profile user={user} />
      <Appearance />
      <Sessions />
      <BotsAndTokens />
      <Blocks />
      <Password />
      <DataExportSection />
      <DeleteAccountSection />
      {user.role === "admin" ? <CustomEmojiAdmin /> : null}
    </section>
  );
}

function Profile(props: { user: User }) {
  const { user } = props;
  const [useColor, setUseColor] = useState(user.color != null);
  const [fields, setFields] = useState<{ name: string; value: string }[] | undefined>(undefined);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    me.value = await api<User>("PATCH", "/me", {
      displayName: String(data.get("displayName") ?? "").trim(),
      bio: String(data.get("bio") ?? ""),
      color: useColor ? String(data.get("color")) : null,
      // Sent only when edited: an untouched form leaves them (and their verification) alone.
      ...(fields ? { fields: fields.map((f) => ({ name: f.name.trim(), value: f.value.trim() })) } : {}),
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
          <input name="displayName" maxLength={64} dir="auto" defaultValue={user.displayName} />
        </Field>
        <Field label="Bio">
          <textarea name="bio" rows={3} maxLength={500} dir="auto" defaultValue={user.bio} />
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
        <ProfileFieldsEditor initial={user.fields} profileUrl={user.url} onChange={setFields} />
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
      <fieldset>
        <legend>Link previews</legend>
        <label class="check">
          <input
            type="checkbox"
            checked={linkPreviewsOn.value}
            onChange={(e) => void setLinkPreviews(e.currentTarget.checked)}
          />{" "}
          Show cards for links, and give my messages some (the server fetches the pages; the sites never see you)
        </label>
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
  // Blocking asks first (block-confirm.tsx), as it does everywhere.
  const [confirming, setConfirming] = useState<{ handle: string; form: HTMLFormElement } | null>(null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const handle = String(new FormData(form).get("user") ?? "")
      .trim()
      .replace(/^@/, "");
    setConfirming({ handle, form });
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
              <Name text={b.actor.displayName} /> <Name class="muted" text={`@${b.actor.handle}`} />
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
      {confirming ? (
        <ConfirmBlock
          handle={confirming.handle}
          name={confirming.handle}
          onClose={() => setConfirming(null)}
          onBlocked={() => {
            confirming.form.reset();
            void load();
          }}
        />
      ) : null}
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
