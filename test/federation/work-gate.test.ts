import { describe, expect, it } from "vitest";
import { WorkGate } from "../../federation/work-gate.ts";
import { AppError } from "../../src/errors.ts";

/** A task that records when it starts and finishes only when released. */
function controlled(log: string[], name: string) {
  let release = () => {};
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    task: async () => {
      log.push(`start ${name}`);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("the inbox's work budget", () => {
  it("runs at most its concurrency at once, then the waiting in turn", async () => {
    const log: string[] = [];
    const gate = new WorkGate(2);
    const tasks = ["a", "b", "c"].map((name) => controlled(log, name));
    const results = tasks.map((t, i) => gate.run(`sender-${i}`, t.task));
    await settle();
    expect(log).toEqual(["start a", "start b"]);
    expect(gate.load).toEqual({ running: 2, waiting: 1 });
    tasks[0]?.release();
    await settle();
    expect(log).toEqual(["start a", "start b", "start c"]);
    for (const t of tasks) t.release();
    expect(await Promise.all(results)).toEqual(["a", "b", "c"]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it("gives each sender its turn, so a noisy one does not hold back a quiet one", async () => {
    const log: string[] = [];
    const gate = new WorkGate(1);
    const first = controlled(log, "noisy 0");
    const running = gate.run("noisy.example", first.task);
    await settle();
    const noisy = [1, 2, 3, 4].map((i) => controlled(log, `noisy ${i}`));
    const quiet = controlled(log, "quiet");
    const all = [
      running,
      ...noisy.map((t) => gate.run("noisy.example", t.task)),
      gate.run("quiet.example", quiet.task),
    ];
    for (const t of [first, ...noisy, quiet]) t.release();
    await Promise.all(all);
    // The quiet server's one delivery comes second, not after the noisy server's backlog.
    expect(log.slice(0, 3)).toEqual(["start noisy 0", "start noisy 1", "start quiet"]);
  });

  it("refuses with busy and Retry-After once too much waits, and still finishes what it took", async () => {
    const log: string[] = [];
    const gate = new WorkGate(1, 3, 2);
    const [t0, t1, t2, t3] = [0, 1, 2, 3].map((i) => controlled(log, `t${i}`)) as [
      ReturnType<typeof controlled>,
      ReturnType<typeof controlled>,
      ReturnType<typeof controlled>,
      ReturnType<typeof controlled>,
    ];
    const taken = [gate.run("a", t0.task), gate.run("a", t1.task), gate.run("a", t2.task)];
    // A third waiting task from the same sender is one too many for it...
    const refused = await gate.run("a", t3.task).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe("busy");
    expect((refused as AppError).status).toBe(503);
    expect((refused as AppError).headers["Retry-After"]).toBeDefined();
    // ...but another sender may still wait, up to the total.
    const other = controlled(log, "b0");
    taken.push(gate.run("b", other.task));
    expect(await gate.run("c", async () => "late").catch((error: AppError) => error.code)).toBe("busy");
    for (const t of [t0, t1, t2, t3, other]) t.release();
    expect(await Promise.all(taken)).toEqual(["t0", "t1", "t2", "b0"]);
  });

  it("frees its slot when a task fails", async () => {
    const gate = new WorkGate(1);
    await expect(gate.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await gate.run("a", async () => "after")).toBe("after");
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });
});
