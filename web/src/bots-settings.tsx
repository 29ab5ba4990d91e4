/**
 * The settings page's "Bots and tokens" section: the user's bots (make, list, delete) and
 * personal access tokens for themselves or a bot (make, with scopes and expiry; the secret is
 * shown once, with a copy button; revoke).
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { BotBadge, Name } from "./names.tsx";
import { say } from "./store.ts";
import type { User } from "./types.ts";
import { ActionButton, copyText, Field, FormError, formatDate, useSubmit } from "./ui.tsx";

/** A personal access token as the API lists it (never its secret). */
interface AccessToken {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  user: User;
  expiresAt: string | null;
  lastUsedAt: string;
}

export function BotsAndTokens() {
  const [bots, setBots] = useState<User[] | null>(null);
  const [tokens, setTokens] = useState<AccessToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    Promise.all([api<{ bots: User[] }>("GET", "/bots"), api<{ tokens: AccessToken[] }>("GET", "/tokens")])
      .then(([b, t]) => {
        setBots(b.bots);
        setTokens(t.tokens);
      })
      .catch((e) => setError(describeError(e)));
  useEffect(() => void load(), []);
  return (
    <section class="card" aria-labelledby="bots-title">
      <h2 id="bots-title">Bots and tokens</h2>
      <p class="muted small">
        A bot is an account you own that programs run through a token; other servers show it as a bot. A token lets a
        script use the API as you or as one of your bots: send it as <code>Authorization: Bearer fct_…</code>.
      </p>
      <FormError error={error} />
      <h3>Bots</h3>
      <ul class="plain-list" aria-label="Your bots">
        {(bots ?? []).map((bot) => (
          <li key={bot.id}>
            <span>
              <Name text={bot.displayName} />
              <BotBadge /> <Name class="muted" text={`@${bot.handle}`} />
            </span>
            <ActionButton
              class="danger small"
              label={`Delete ${bot.username}`}
              action={async () => {
                if (!window.confirm(`Delete the bot @${bot.username}, its tokens and its messages?`)) return;
                await api("DELETE", `/bots/${bot.id}`);
                say("Bot deleted.");
                void load();
              }}
            >
              Delete
            </ActionButton>
          </li>
        ))}
        {bots?.length === 0 ? <li class="muted">No bots yet.</li> : null}
      </ul>
      <NewBot onCreated={() => void load()} />
      <h3>Tokens</h3>
      <ul class="plain-list" aria-label="Your tokens">
        {(tokens ?? []).map((token) => (
          <li key={token.id}>
            <span>
              <strong>
                <Name text={token.name} />
              </strong>{" "}
              <code class="muted small">{token.prefix}…</code>
              <br />
              <span class="muted small">
                as <Name text={`@${token.user.username}`} /> · {token.scopes.join(", ")} · last used{" "}
                {formatDate(token.lastUsedAt)} ·{" "}
                {token.expiresAt ? `expires ${formatDate(token.expiresAt)}` : "no expiry"}
              </span>
            </span>
            <ActionButton
              class="danger small"
              label={`Revoke ${token.name}`}
              action={async () => {
                await api("DELETE", `/tokens/${token.id}`);
                say("Token revoked.");
                void load();
              }}
            >
              Revoke
            </ActionButton>
          </li>
        ))}
        {tokens?.length === 0 ? <li class="muted">No tokens yet.</li> : null}
      </ul>
      <NewToken bots={bots ?? []} onCreated={() => void load()} />
    </section>
  );
}

function NewBot(props: { onCreated(): void }) {
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const displayName = String(data.get("displayName") ?? "").trim();
    const bio = String(data.get("bio") ?? "");
    await api<User>("POST", "/bots", {
      username: String(data.get("username") ?? "").trim(),
      ...(displayName ? { displayName } : {}),
      ...(bio ? { bio } : {}),
    });
    form.reset();
    say("Bot created.");
    props.onCreated();
  }, describeError);
  return (
    <form onSubmit={onSubmit} aria-label="New bot">
      <Field label="Bot handle" hint="3–32 of a-z, 0-9 and _">
        <input name="username" required minLength={3} maxLength={32} autoCapitalize="none" spellcheck={false} />
      </Field>
      <Field label="Shown as">
        <input name="displayName" maxLength={64} dir="auto" />
      </Field>
      <Field label="Bot description">
        <textarea name="bio" rows={2} maxLength={500} dir="auto" />
      </Field>
      <FormError error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create bot
        </button>
      </div>
    </form>
  );
}

function NewToken(props: { bots: readonly User[]; onCreated(): void }) {
  const [secret, setSecret] = useState<string | null>(null);
  const { busy, error, onSubmit } = useSubmit(async (form) => {
    const data = new FormData(form);
    const access = String(data.get("access"));
    const room = String(data.get("room") ?? "").trim();
    const days = Number(data.get("expires"));
    const botId = String(data.get("as") ?? "");
    const created = await api<{ secret: string }>("POST", "/tokens", {
      name: String(data.get("name") ?? "").trim(),
      scopes: [access, ...(room ? [`rooms:${room}`] : [])],
      ...(days > 0 ? { expiresInDays: days } : {}),
      ...(botId ? { botId } : {}),
    });
    // The other choices stay as they were, for the next token.
    for (const field of ["name", "room"]) (form.elements.namedItem(field) as HTMLInputElement).value = "";
    setSecret(created.secret);
    props.onCreated();
  }, describeError);
  return (
    <>
      <form onSubmit={onSubmit} aria-label="New token">
        <Field label="Token name" hint="What it is for">
          <input name="name" required maxLength={64} />
        </Field>
        <Field label="Acts as">
          <select name="as">
            <option value="">Me</option>
            {props.bots.map((bot) => (
              <option key={bot.id} value={bot.id}>
                @{bot.username} (bot)
              </option>
            ))}
          </select>
        </Field>
        <fieldset>
          <legend>Access</legend>
          <label class="check">
            <input type="radio" name="access" value="read" defaultChecked /> Read only
          </label>
          <label class="check">
            <input type="radio" name="access" value="write" /> Read and write
          </label>
        </fieldset>
        <Field label="Only this room (optional)" hint="A room id; the token then reaches nothing else">
          <input name="room" maxLength={36} pattern="[0-9a-fA-F-]{36}" spellcheck={false} />
        </Field>
        <Field label="Expires">
          <select name="expires">
            <option value="7">in 7 days</option>
            <option value="30" selected>
              in 30 days
            </option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
            <option value="0">never</option>
          </select>
        </Field>
        <FormError error={error} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Create token
          </button>
        </div>
      </form>
      {secret ? (
        <div class="invite-created" role="status">
          <label class="field">
            <span class="field-label">New token (shown once: copy it now)</span>
            <input readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <button type="button" onClick={async () => say((await copyText(secret)) ? "Token copied." : "Copy failed.")}>
            Copy token
          </button>
        </div>
      ) : null}
    </>
  );
}
