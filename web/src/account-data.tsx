/** Settings for one's own data: an export of it, and deleting the account. */
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, apiBlob, logout } from "./api.ts";
import { describeError } from "./errors.ts";
import { navigate } from "./router.ts";
import { say } from "./store.ts";
import { Field, FormError, formatDate, useSubmit } from "./ui.tsx";

interface DataExport {
  id: string;
  state: "pending" | "ready" | "failed";
  size: number | null;
  createdAt: string;
  expiresAt: string;
  downloadUrl: string | null;
}

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Asks for an archive of one's data, follows it until it is made, and downloads it. */
export function DataExportSection() {
  const [latest, setLatest] = useState<DataExport | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () =>
    api<{ export: DataExport | null }>("GET", "/me/exports")
      .then((r) => setLatest(r.export))
      .catch((e) => setError(describeError(e)));
  useEffect(() => void load(), []);
  // A pending export is made in the background: look again every few seconds.
  useEffect(() => {
    if (latest?.state !== "pending") return;
    const timer = setTimeout(() => void load(), 3000);
    return () => clearTimeout(timer);
  }, [latest]);
  const ask = async () => {
    setBusy(true);
    setError(null);
    try {
      setLatest((await api<{ export: DataExport }>("POST", "/me/exports")).export);
      say("Your archive is being made.");
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const download = async (row: DataExport) => {
    setBusy(true);
    try {
      const blob = await apiBlob(`/me/exports/${row.id}/archive`);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `fedchat-export-${row.createdAt.slice(0, 10)}.tar.gz`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="export-title">
      <h2 id="export-title">Your data</h2>
      <p class="muted small">
        An archive (.tar.gz) of your profile, the rooms you are in, every message you wrote and the files you uploaded.
        One a day; it is kept for a week.
      </p>
      <p class="export-state" aria-live="polite">
        {latest === undefined
          ? null
          : latest === null
            ? "No archive yet."
            : latest.state === "pending"
              ? `Being made (asked ${formatDate(latest.createdAt)})…`
              : latest.state === "failed"
                ? "The last archive could not be made; ask again."
                : `Ready: ${megabytes(latest.size ?? 0)}, until ${formatDate(latest.expiresAt)}.`}
      </p>
      <FormError error={error} />
      <div class="actions">
        {latest?.state === "ready" ? (
          <button type="button" class="primary" disabled={busy} onClick={() => void download(latest)}>
            Download archive
          </button>
        ) : null}
        <button type="button" disabled={busy || latest?.state === "pending"} onClick={() => void ask()}>
          Ask for an archive
        </button>
      </div>
    </section>
  );
}

/** Deletes the account for good, once the password confirms it. */
export function DeleteAccountSection() {
  const [owned, setOwned] = useState<{ id: string; name: string }[]>([]);
  const { busy, error, onSubmit } = useSubmit(
    async (form) => {
      const data = new FormData(form);
      setOwned([]);
      try {
        await api("POST", "/me/delete", { password: String(data.get("password") ?? "") });
      } catch (e) {
        if (e instanceof ApiError && e.code === "rooms_owned") {
          setOwned((e.details as { rooms?: { id: string; name: string }[] } | undefined)?.rooms ?? []);
        }
        throw e;
      }
      // The server ended every session: what this browser kept for the account goes too.
      await logout();
      navigate("/", true);
      say("Your account was deleted.");
    },
    (e) =>
      e instanceof ApiError && e.code === "invalid_credentials"
        ? "The password is wrong."
        : e instanceof ApiError && e.code === "rooms_owned"
          ? "You own rooms others are in: hand them over to another member, or delete them, first."
          : describeError(e),
  );
  return (
    <section class="card danger-zone" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete your account</h2>
      <p class="muted small">
        Your profile, sessions, bots, contacts and room memberships go for good, and the other servers that show you are
        told. Your messages stay, under “Deleted user”: delete those you want gone first. Your username is never given
        to anyone again.
      </p>
      <form onSubmit={onSubmit}>
        <Field label="Password" hint="To confirm it is you">
          <input type="password" name="password" required autoComplete="current-password" maxLength={256} />
        </Field>
        <FormError error={error} />
        {owned.length > 0 ? (
          <ul class="plain-list owned-rooms">
            {owned.map((room) => (
              <li key={room.id}>
                <a href={`/rooms/${room.id}`}>{room.name}</a>
              </li>
            ))}
          </ul>
        ) : null}
        <div class="actions">
          <button type="submit" class="danger" disabled={busy}>
            Delete my account
          </button>
        </div>
      </form>
    </section>
  );
}
