/**
 * The report queue of moderators and admins (`/reports`): open, resolved and dismissed
 * reports, each with what was reported and what was done, and the actions the caller may take.
 * `ReportsQueue` is self-contained (it loads and reloads itself on the stream's report events)
 * so that an admin console can show it as it is. A lazily loaded chunk.
 */
import { useEffect, useState } from "preact/hooks";
import { api } from "./api.ts";
import { describeError } from "./errors.ts";
import { Name, UserText } from "./names.tsx";
import { Page } from "./pages.tsx";
import { reportReasons } from "./report-dialog.tsx";
import { me, newReports, reportsChanged } from "./store.ts";
import type { Actor } from "./types.ts";
import { ActionButton, FormError, Time } from "./ui.tsx";

/** A report as `GET /api/v1/reports` gives it. */
export interface Report {
  id: string;
  kind: "message" | "user" | "room";
  category: string;
  comment: string;
  status: "open" | "resolved" | "dismissed";
  reporter: Actor | null;
  origin: string | null;
  target: Actor | null;
  targetRemote: boolean;
  room: { id: string; name: string } | null;
  messages: { id: string; url: string; author: Actor | null; content: string; createdAt: string }[];
  actions: { action: string; note: string; actor: Actor | null; createdAt: string }[];
  forwardedAt: string | null;
  resolvedAt: string | null;
  createdAt: string;
}

const statuses = [
  ["open", "Open"],
  ["resolved", "Resolved"],
  ["dismissed", "Dismissed"],
] as const;

const actionWords: Record<string, string> = {
  delete_messages: "Messages deleted",
  kick: "Kicked",
  ban: "Banned",
  suspend: "Account suspended",
  block_server: "Server blocked",
  forward: "Forwarded",
  resolved: "Resolved",
  dismissed: "Dismissed",
  open: "Opened again",
};

const reasonOf = (category: string) => reportReasons.find(([value]) => value === category)?.[1] ?? category;
const nameOf = (actor: Actor | null) => (actor ? actor.displayName || actor.handle : "Someone deleted");

/** The queue, with its status tabs; reloads itself when a report arrives or changes. */
export function ReportsQueue() {
  const [status, setStatus] = useState<Report["status"]>("open");
  const [list, setList] = useState<Report[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const tick = reportsChanged.value;
  useEffect(() => {
    newReports.value = 0;
    let live = true;
    api<{ reports: Report[] }>("GET", `/reports?status=${status}`)
      .then(({ reports }) => live && setList(reports))
      .catch((e) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [status, tick]);
  const replace = (next: Report) =>
    setList((now) => (now ?? []).flatMap((r) => (r.id !== next.id ? [r] : next.status === status ? [next] : [])));
  return (
    <div class="reports-queue">
      <div class="report-tabs" role="tablist" aria-label="Reports by state">
        {statuses.map(([value, label]) => (
          <button
            key={value}
            type="button"
            role="tab"
            aria-selected={status === value}
            class={status === value ? "tab selected" : "tab"}
            onClick={() => {
              setList(null);
              setStatus(value);
            }}
          >
            {label}
          </button>
        ))}
      </div>
      <FormError error={error} />
      {list == null && !error ? <p class="loading">Loading…</p> : null}
      {list?.length === 0 ? <p class="muted">No {status} reports.</p> : null}
      <ul class="report-list" aria-label="Reports">
        {list?.map((r) => (
          <ReportItem key={r.id} report={r} onChange={replace} />
        ))}
      </ul>
    </div>
  );
}

function ReportItem(props: { report: Report; onChange(next: Report): void }) {
  const r = props.report;
  const [error, setError] = useState<string | null>(null);
  const admin = me.value?.role === "admin";
  const act = (action: string) => async () => {
    setError(null);
    props.onChange(await api<Report>("POST", `/reports/${r.id}/actions`, { action }));
  };
  const settle = (next: Report["status"]) => async () => {
    setError(null);
    props.onChange(await api<Report>("PUT", `/reports/${r.id}/status`, { status: next }));
  };
  const about =
    r.kind === "room" ? (
      <>
        the room <Name text={r.room?.name ?? ""} />
      </>
    ) : (
      <>
        <Name text={nameOf(r.target)} /> <span class="muted">@{r.target?.handle}</span>
      </>
    );
  const done = new Set(r.actions.map((a) => a.action));
  const button = (action: string, label: string, show: boolean) =>
    show && !done.has(action) ? (
      <ActionButton class={action === "forward" ? "" : "danger small"} action={act(action)} onError={setError}>
        {label}
      </ActionButton>
    ) : null;
  return (
    <li
      class={`report report-${r.status}`}
      aria-label={`Report about ${r.kind === "room" ? r.room?.name : nameOf(r.target)}`}
    >
      <header class="report-head">
        <strong>{reasonOf(r.category)}</strong>: {about}
        {r.room && r.kind !== "room" ? (
          <>
            {" "}
            in <a href={`/rooms/${r.room.id}`}>{r.room.name}</a>
          </>
        ) : null}
      </header>
      <p class="muted small">
        {r.reporter ? (
          <>
            Reported by <Name text={nameOf(r.reporter)} />
          </>
        ) : (
          <>Reported by the server {r.origin}</>
        )}{" "}
        <Time at={r.createdAt} />
      </p>
      {r.comment ? <UserText as="blockquote" class="report-comment" text={r.comment} /> : null}
      {r.messages.length ? (
        <ol class="report-messages" aria-label="Messages reported">
          {r.messages.map((m) => (
            <li key={m.id}>
              <UserText as="p" text={m.content} /> <Time at={m.createdAt} />
            </li>
          ))}
        </ol>
      ) : null}
      {r.actions.length ? (
        <ul class="report-actions-taken" aria-label="Done so far">
          {r.actions.map((a) => (
            <li key={a.createdAt + a.action}>
              {actionWords[a.action] ?? a.action}
              {a.note ? `: ${a.note}` : ""} <span class="muted small">({nameOf(a.actor)})</span>
            </li>
          ))}
        </ul>
      ) : null}
      <FormError error={error} />
      <div class="report-buttons">
        {r.status === "open" ? (
          <>
            {button("delete_messages", "Delete messages", r.messages.length > 0)}
            {button("kick", "Kick", r.kind !== "room" && r.room != null && r.target != null)}
            {button("ban", "Ban from room", r.kind !== "room" && r.room != null && r.target != null)}
            {button("suspend", "Suspend account", admin && r.target != null && !r.targetRemote)}
            {button("block_server", "Block server", admin && (r.targetRemote || r.origin != null))}
            {button("forward", "Forward", r.targetRemote && r.origin == null && r.forwardedAt == null)}
            <ActionButton class="primary" action={settle("resolved")} onError={setError}>
              Resolve
            </ActionButton>
            <ActionButton action={settle("dismissed")} onError={setError}>
              Dismiss
            </ActionButton>
          </>
        ) : (
          <ActionButton action={settle("open")} onError={setError}>
            Open again
          </ActionButton>
        )}
      </div>
    </li>
  );
}

/** The queue as a page of the client. */
export function ReportsPage() {
  return (
    <Page title="Reports">
      <ReportsQueue />
    </Page>
  );
}
