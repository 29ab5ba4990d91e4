import { describe, expect, it } from "vitest";
import { relativeLabel } from "../../web/src/relative-time.ts";

const at = new Date(2026, 2, 18, 15, 30, 0).getTime(); // a Wednesday
const clock = (d: Date) => new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(d);

describe("relative times", () => {
  it("says just now, then minutes ago for the first hour", () => {
    expect(relativeLabel(at - 10_000, at)).toBe("just now");
    expect(relativeLabel(at + 5_000, at)).toBe("just now"); // a clock a little ahead
    expect(relativeLabel(at - 60_000, at)).toBe("1 min ago");
    expect(relativeLabel(at - 5 * 60_000 - 20_000, at)).toBe("5 min ago");
    expect(relativeLabel(at - 59 * 60_000, at)).toBe("59 min ago");
  });

  it("gives the clock time today, yesterday with its time, the weekday within a week, then the date", () => {
    const today = new Date(2026, 2, 18, 9, 5);
    expect(relativeLabel(today.getTime(), at)).toBe(clock(today));
    const yesterday = new Date(2026, 2, 17, 14, 3);
    expect(relativeLabel(yesterday.getTime(), at)).toBe(`yesterday ${clock(yesterday)}`);
    // Just before midnight is still yesterday, though under a day ago.
    expect(relativeLabel(new Date(2026, 2, 17, 23, 59).getTime(), at)).toMatch(/^yesterday /);
    const monday = new Date(2026, 2, 16, 8, 0);
    expect(relativeLabel(monday.getTime(), at)).toBe(
      `${new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(monday)} ${clock(monday)}`,
    );
    const older = new Date(2026, 0, 2, 8, 0);
    expect(relativeLabel(older.getTime(), at)).toContain(clock(older));
    expect(relativeLabel(older.getTime(), at)).not.toContain("2026");
    expect(relativeLabel(new Date(2025, 11, 30, 8, 0).getTime(), at)).toContain("2025");
  });
});
