/**
 * The ways into reports that the first bundle carries: a message's "Report" button, the
 * sidebar's link to the queue, and the queue's page. The dialog (report-dialog.tsx) and the
 * queue (reports.tsx) are chunks loaded on first use.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Icon } from "./icons.tsx";
import type { ReportSubject } from "./report-dialog.tsx";
import { path } from "./router.ts";
import { me, newReports, rooms } from "./store.ts";

/** A message's "Report" action: the dialog loads when first opened. */
export function ReportButton(props: { subject: ReportSubject }) {
  return (
    <button
      type="button"
      class="icon-button small"
      aria-label="Report"
      title="Report"
      onClick={() => void import("./report-dialog.tsx").then((m) => m.openReportDialog(props.subject))}
    >
      <Icon name="flag" size={16} />
    </button>
  );
}

/** Whether the user has a report queue: an admin of the server, or a moderator of a room of it. */
export function hasReportQueue(): boolean {
  if (me.value?.role === "admin") return true;
  return rooms.value.some((r) => !r.remote && !r.direct && r.role != null && r.role !== "member");
}

/** The sidebar's link to the queue, with how many reports came in since it was looked at. */
export function ReportsLink() {
  if (!hasReportQueue()) return null;
  const count = newReports.value;
  const label = count > 0 ? `Reports (${count} new)` : "Reports";
  return (
    <a
      href="/reports"
      class="icon-button small nav-button"
      aria-label={label}
      title={label}
      aria-current={path.value === "/reports" ? "page" : undefined}
    >
      <Icon name="flag" size={16} />
      {count > 0 ? (
        <span class="badge bell-count" aria-hidden="true">
          {count > 99 ? "99+" : count}
        </span>
      ) : null}
    </a>
  );
}

/** The queue's page (`/reports`), loaded when first visited. */
export function ReportsEntry() {
  const [Page, setPage] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    import("./reports.tsx").then(
      (m) => setPage(() => m.ReportsPage),
      () => setFailed(true),
    );
  }, []);
  if (failed) return <p class="form-error">This page could not be loaded; reload to try again.</p>;
  return Page ? <Page /> : <p class="loading">Loading…</p>;
}
