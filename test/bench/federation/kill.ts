// kill -9: two server processes on one database (they share the delivery streams through
// leases), ten peers, 200 messages; halfway through the sending the process that holds the
// most streams is killed with SIGKILL. Prints how long until every peer has every message,
// and what was lost or delivered twice.
import type { ServerProcess } from "../../helpers/server.ts";
import { report } from "../support.ts";
import { Instance, sentBy } from "./instance.ts";
import { arrivals, complete, lastArrival, reportMs, reportTally, waitUntil } from "./measure.ts";
import { scoped, startPeers } from "./scope.ts";

/** How many delivery streams each process holds a live lease on, by pid. */
async function leasesByPid(instance: Instance): Promise<Map<number, number>> {
  const rows = await instance.sql<{ owner: string; streams: number }[]>`
    select leased_by as owner, count(*)::int as streams from delivery_streams
    where leased_by is not null and leased_until > now() group by leased_by`;
  const held = new Map<number, number>();
  // The owner is `<pid>-<uuid>` (federation/delivery.ts).
  for (const row of rows) {
    const pid = Number(row.owner.split("-")[0]);
    held.set(pid, (held.get(pid) ?? 0) + row.streams);
  }
  return held;
}

/**
 * Two processes, ten peers, 200 messages at 40 per second; after the 100th send the process
 * holding the most delivery streams gets SIGKILL. Sends it had in hand are sent again (the
 * same transaction ids) through the front, which now reaches the survivor only.
 */
export async function killCase(admin: string): Promise<void> {
  const name = "federation kill -9";
  const messages = 200;
  await scoped(async (defer) => {
    const peers = await startPeers(10, defer);
    const instance = await Instance.start(admin, 2);
    defer(() => instance.stop());
    const room = await instance.createRoom("Killed");
    for (const peer of peers) await instance.addRemoteMember(peer.url, [room]);
    await instance.warmUp([room], (s) => complete(peers, s));
    const sent = new Map<string, number>();
    let killed:
      | { at: number; victim: ServerProcess; held: number; streams: number; unpublished: number; cursorLeased: boolean }
      | undefined;
    let killing: Promise<void> | undefined;
    const kill = async () => {
      const held = await leasesByPid(instance);
      // The publisher's cursor has a lease of its own (federation/publisher.ts), held mid-batch.
      const [cursor] = await instance.sql<{ unpublished: number; leased: boolean }[]>`
        select coalesce((select max(position) from events), 0) - position as unpublished,
               coalesce(leased_until > now(), false) as leased
        from federation_cursor`;
      const [victim] = [...instance.servers].sort(
        (a, b) => (held.get(b.child.pid ?? 0) ?? 0) - (held.get(a.child.pid ?? 0) ?? 0),
      );
      if (victim == null) return;
      victim.child.kill("SIGKILL");
      killed = {
        at: Date.now(),
        victim,
        held: held.get(victim.child.pid ?? 0) ?? 0,
        streams: [...held.values()].reduce((a, b) => a + b, 0),
        unpublished: Number(cursor?.unpublished ?? 0),
        cursorLeased: cursor?.leased ?? false,
      };
      await victim.exited;
    };
    const started = Date.now();
    await instance.sendAtRate({
      rooms: [room],
      count: messages,
      perSecond: 40,
      sent,
      deadline: started + 60_000,
      onSend: (i) => {
        if (i === messages / 2) killing = kill();
      },
    });
    const sendingEnded = Date.now();
    await killing;
    // A dead process's leases run out after 10 s; then the other takes its streams over.
    await waitUntil(() => complete(peers, sent), sendingEnded + 60_000, {
      progress: () => arrivals(peers),
      quietMs: 30_000,
    });
    if (killed == null) throw new Error("no process was killed");
    const survivor = instance.servers.find((s) => s !== killed?.victim);
    report(`${name}: streams the killed process held`, killed.held, `of ${killed.streams} leased`);
    report(
      `${name}: events not yet published at the kill`,
      killed.unpublished,
      killed.cursorLeased ? "(the publisher's cursor was leased)" : "",
    );
    reportTally(name, peers, sent);
    const last = lastArrival(peers, sent);
    reportMs(
      `${name}: from the kill until every peer has all sent before`,
      lastArrival(peers, sentBy(sent, killed.at)) - killed.at,
    );
    reportMs(`${name}: from the kill until every peer has every message`, last - killed.at);
    reportMs(`${name}: from the last send until every peer has every message`, last - sendingEnded);
    const errors = (survivor?.output() ?? "").split("\n").filter((line) => /"level":"(error|fatal)"/i.test(line));
    if (errors.length > 0) {
      process.stdout.write(
        `${name}: the surviving process logged ${errors.length} errors, first:\n${errors.slice(0, 3).join("\n")}\n`,
      );
    }
  });
}
