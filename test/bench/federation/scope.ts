// Cleanups that run however a benchmark case ends: finished, failed or interrupted.
import { onInterrupt } from "../chat/cleanup.ts";
import { Peer } from "./peers.ts";

/** Registers a cleanup; they run in reverse order. */
export type Defer = (cleanup: () => Promise<void>) => void;

/**
 * Runs `body`, handing it `defer` to register cleanups with; runs them once it is done (or
 * failed), and on Ctrl-C or SIGTERM meanwhile. A failing cleanup does not keep the others.
 */
export async function scoped<T>(body: (defer: Defer) => Promise<T>): Promise<T> {
  const cleanups: (() => Promise<void>)[] = [];
  const runAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  };
  const forget = onInterrupt(runAll);
  try {
    return await body((cleanup) => cleanups.push(cleanup));
  } finally {
    forget();
    await runAll();
  }
}

/** Starts `count` verifying peers named `<prefix><i>`, closed by the scope. */
export async function startPeers(count: number, defer: Defer, prefix = "peer"): Promise<Peer[]> {
  const peers: Peer[] = [];
  defer(() => Promise.all(peers.map((p) => p.close())).then(() => {}));
  for (let i = 0; i < count; i++) peers.push(await Peer.start(`${prefix}${i}`));
  return peers;
}
