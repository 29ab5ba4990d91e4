// Everything a benchmark starts (servers, Prosody, the cluster, the federation bench's peers)
// is registered here, so that an interrupted run (Ctrl-C, SIGTERM) stops and removes it as a
// finished one does.

const pending = new Set<() => Promise<void>>();
let installed = false;

/**
 * Registers a cleanup for an interruption; the returned function unregisters it (call it once
 * the thing is cleaned up the ordinary way).
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  if (!installed) {
    installed = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        process.stderr.write(`\nbench: ${signal}: stopping what the benchmark started…\n`);
        // Each cleanup is bounded by its own timeouts; the whole by 60 s.
        const all = Promise.allSettled([...pending].reverse().map((fn) => fn()));
        const limit = new Promise((r) => setTimeout(r, 60_000).unref());
        void Promise.race([all, limit]).finally(() => process.exit(130));
      });
    }
  }
  pending.add(cleanup);
  return () => pending.delete(cleanup);
}
