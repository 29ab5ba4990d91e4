// What /proc says about the processes under test: CPU time, resident memory, the load average.
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/** CPU seconds (utime + stime) a process has used, or undefined once it has gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in KiB (VmRSS), or 0 once it has gone. */
export function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The one-minute load average. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

/** CPU seconds used over a measured phase, by the server process and by its database backends. */
export interface CpuUse {
  readonly serverSeconds: number;
  readonly databaseSeconds: number;
}

/**
 * Measures the CPU a server and its PostgreSQL backends use over a phase. Backends come and go
 * (the pool opens connections on demand and closes idle ones), so the list is read again every
 * second and every process is sampled every 250 ms: one that exits loses at most its last
 * quarter second; one that appears counts from zero, since it was born inside the phase.
 */
export class CpuMeter {
  readonly #serverPid: number | undefined;
  readonly #listBackends: () => Promise<number[]>;
  readonly #first = new Map<number, number>();
  readonly #last = new Map<number, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #listing: Promise<void> | undefined;
  #ticks = 0;

  /**
   * @param serverPid The server process (undefined: measure the backends alone).
   * @param listBackends The pids of its database backends (none for an embedded database).
   */
  constructor(serverPid: number | undefined, listBackends: () => Promise<number[]>) {
    this.#serverPid = serverPid;
    this.#listBackends = listBackends;
  }

  async start(): Promise<void> {
    const backends = await this.#listBackends();
    for (const pid of [...(this.#serverPid == null ? [] : [this.#serverPid]), ...backends]) {
      const seconds = cpuSeconds(pid);
      if (seconds == null) continue;
      this.#first.set(pid, seconds);
      this.#last.set(pid, seconds);
    }
    this.#timer = setInterval(() => {
      this.#sample();
      if (++this.#ticks % 4 === 0 && this.#listing == null) {
        this.#listing = this.#discover().finally(() => {
          this.#listing = undefined;
        });
      }
    }, 250);
  }

  async #discover(): Promise<void> {
    const backends = await this.#listBackends().catch(() => [] as number[]);
    for (const pid of backends) {
      if (this.#first.has(pid)) continue;
      this.#first.set(pid, 0);
      this.#last.set(pid, cpuSeconds(pid) ?? 0);
    }
  }

  #sample(): void {
    for (const pid of this.#last.keys()) {
      const seconds = cpuSeconds(pid);
      if (seconds != null) this.#last.set(pid, seconds);
    }
  }

  /** Ends the phase: the CPU seconds used since {@link start}. */
  async stop(): Promise<CpuUse> {
    clearInterval(this.#timer);
    await this.#listing;
    await this.#discover();
    this.#sample();
    let serverSeconds = 0;
    let databaseSeconds = 0;
    for (const [pid, first] of this.#first) {
      const used = (this.#last.get(pid) ?? first) - first;
      if (pid === this.#serverPid) serverSeconds += used;
      else databaseSeconds += used;
    }
    return { serverSeconds, databaseSeconds };
  }
}
