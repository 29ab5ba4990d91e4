/**
 * Relative times ("just now", "5 min ago", "yesterday 14:03") with the full date in the
 * tooltip. One shared, coarse clock drives them all: each `<RelativeTime>` reads the `now`
 * signal, so a tick re-renders only the times themselves, never the timeline around them.
 */
import { signal } from "@preact/signals";
import { h } from "preact";
import { useEffect } from "preact/hooks";

/** How often the shared clock ticks: labels are at minute precision, half of that is enough. */
const tickMs = 30_000;

/** The shared clock (ms since epoch), ticking while at least one relative time is shown. */
export const now = signal(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function retain(): () => void {
  users++;
  if (timer === undefined) {
    now.value = Date.now();
    timer = setInterval(() => {
      now.value = Date.now();
    }, tickMs);
  }
  return () => {
    users--;
    if (users === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const monthDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const monthDayYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

/** Midnight (local) of a time's day, for counting calendar days between two times. */
function dayStart(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/**
 * A short label for a time as seen at `at` ms: "just now" under a minute, "N min ago" under
 * an hour, the clock time today, "yesterday 14:03", the weekday within a week, then the date.
 */
export function relativeLabel(time: number, at: number): string {
  const ago = at - time;
  if (ago < 60_000 && ago > -60_000) return "just now";
  if (ago > 0 && ago < 3_600_000) return `${Math.floor(ago / 60_000)} min ago`;
  const days = Math.round((dayStart(at) - dayStart(time)) / 86_400_000);
  const hm = clock.format(time);
  if (days === 0) return hm;
  if (days === 1) return `yesterday ${hm}`;
  if (days > 1 && days < 7) return `${weekday.format(time)} ${hm}`;
  const sameYear = new Date(time).getFullYear() === new Date(at).getFullYear();
  return `${(sameYear ? monthDay : monthDayYear).format(time)} ${hm}`;
}

/** The full date and time, for tooltips. */
export function fullTime(time: number): string {
  return full.format(time);
}

/** A `<time>` that says how long ago, keeps itself current, and tells the full date on hover. */
export function RelativeTime(props: { at: string; class?: string }) {
  useEffect(retain, []);
  const time = Date.parse(props.at);
  // `h` rather than JSX keeps this module a plain .ts file that the tests (and the server's
  // tsconfig) read without JSX.
  return h("time", { class: props.class, dateTime: props.at, title: fullTime(time) }, relativeLabel(time, now.value));
}
