/**
 * The small dialog that reports a message or a person to the room's moderators and the
 * server's admins: a reason, a comment, and for someone of another server whether to send it
 * there too (without the reporter's name). A lazily loaded chunk: opened from a message's
 * actions and from the user card.
 */
import { render } from "preact";
import { useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { isolate, Name } from "./names.tsx";
import { say } from "./status.ts";
import { Dialog, Field, FormError } from "./ui.tsx";

/** The server's categories (src/db/schema-reports.ts), in the words people pick from. */
export const reportReasons = [
  ["spam", "Spam or scam"],
  ["harassment", "Harassment or hate"],
  ["violence", "Threats or violence"],
  ["illegal", "Illegal content"],
  ["other", "Something else"],
] as const;

/** What is reported. */
export interface ReportSubject {
  kind: "message" | "user";
  /** The reported person's name and handle (a handle with `@host` is of another server). */
  name: string;
  handle: string;
  userId?: string | undefined;
  roomId?: string | undefined;
  messageIds?: string[] | undefined;
}

export function ReportDialog(props: { subject: ReportSubject; onClose(): void }) {
  const { subject } = props;
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const host = subject.handle.includes("@") ? subject.handle.split("@").at(-1) : undefined;
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await api("POST", "/reports", {
        kind: subject.kind,
        category: form.get("category"),
        comment: String(form.get("comment") ?? ""),
        ...(subject.roomId ? { roomId: subject.roomId } : {}),
        ...(subject.messageIds ? { messageIds: subject.messageIds } : {}),
        ...(subject.userId ? { userId: subject.userId } : {}),
        forward: form.get("forward") === "on",
      });
      say("Report sent. The moderators will look at it; you will hear how it ends.");
      props.onClose();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={
        <>
          Report {subject.kind === "message" ? "a message by " : ""}
          <Name text={subject.name} />
        </>
      }
      onClose={props.onClose}
    >
      <form class="report-form" onSubmit={onSubmit}>
        <fieldset>
          <legend>Why?</legend>
          {reportReasons.map(([value, label], i) => (
            <label class="check" key={value}>
              <input type="radio" name="category" value={value} required defaultChecked={i === 0} /> {label}
            </label>
          ))}
        </fieldset>
        <Field label="Anything the moderators should know" hint="Optional, at most 1,000 characters">
          <textarea name="comment" rows={3} maxLength={1000} dir="auto" />
        </Field>
        {host ? (
          <label class="check">
            <input type="checkbox" name="forward" /> Also send it to {isolate(host)}, without your name
          </label>
        ) : null}
        <FormError error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={busy}>
            Send report
          </button>
        </div>
      </form>
    </Dialog>
  );
}

let host: HTMLElement | null = null;

/**
 * Opens the dialog outside the page's own tree: a message's actions show only while it is
 * hovered, and a dialog inside them would hide with them.
 */
export function openReportDialog(subject: ReportSubject): void {
  if (!host) {
    host = document.createElement("div");
    host.className = "report-dialog-host";
    document.body.append(host);
  }
  const root = host;
  render(null, root);
  render(<ReportDialog subject={subject} onClose={() => render(null, root)} />, root);
}
