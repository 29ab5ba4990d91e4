// Search on PostgreSQL (issue 16): 1,000,000 messages in 1,000 rooms, loaded with
// generate_series, searched through a real server process. Prints search latency (p50, p95)
// by kind of query for a member of 100 rooms and for a member of all 1,000, and what search
// costs a send: API sends (sequential latency and concurrent throughput) and the SQL insert
// alone, on a copy without the column and its index and on one with them, side by side.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { createAccount } from "../../src/accounts/accounts.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/client.ts";
import { migrateDatabase } from "../../src/db/migrate.ts";
import { startServer, stopServer } from "../helpers/server.ts";
import { api, benchPostgresUrl, percentile, report, scratchDatabase } from "./support.ts";

const messageCount = 1_000_000;
const roomCount = 1000;
const authorCount = 50;
const vocabulary = 2000;
/** What migration 0015 adds, for the database loaded without it. */
const addSearchSql = `alter table messages drop column search;
  alter table messages add column search tsvector
    generated always as (to_tsvector('simple'::regconfig, content)) stored;
  create index messages_search_idx on messages using gin (search)`;

/** A room's id from its number, so the loader and the queries agree without a lookup. */
const roomUuid = (n: number | string) => `('00000000-0000-7000-8000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;

/** Loads rooms, messages (words `w0`…`w1999`, skewed: `w0` is in about half), images and memberships. */
export async function load(sql: postgres.Sql, authorIds: string[], narrowId: string, wideId: string) {
  await sql`select setseed(0.42)`;
  await sql.unsafe(`insert into rooms (id, name, visibility, last_seq)
    select ${roomUuid("r")}, 'room ' || r, 'public', ${messageCount / roomCount} from generate_series(0, ${roomCount - 1}) r`);
  // Ids are UUIDv7-shaped (time first), as the server makes them; one message a second.
  await sql.unsafe(`insert into messages (id, room_id, seq, author_id, content, html, created_at)
    select (lpad(to_hex(1700000000000 + g * 1000), 12, '0') || '70008' || lpad(to_hex(g), 15, '0'))::uuid,
      ${roomUuid(`g % ${roomCount}`)}, g / ${roomCount} + 1,
      ('{${authorIds.join(",")}}'::uuid[])[1 + g % ${authorCount}],
      c.content, c.content, to_timestamp(1700000000 + g)
    from generate_series(0, ${messageCount - 1}) g,
      lateral (select string_agg('w' || floor(${vocabulary} * power(random(), 3))::int, ' ') as content
               from generate_series(1, 4 + g % 9) k where g >= 0) c`);
  await sql.unsafe(`insert into attachments (id, owner_id, message_id, hash, name, media_type, size)
    select gen_random_uuid(), author_id, id, 'bench', 'cat.png', 'image/png', 1 from messages where seq % 50 = 0`);
  await sql.unsafe(`insert into room_members (room_id, actor_id, role)
    select ${roomUuid("r")}, '${narrowId}'::uuid, 'member' from generate_series(0, 99) r
    union all select ${roomUuid("r")}, '${wideId}'::uuid, 'member' from generate_series(0, ${roomCount - 1}) r`);
  await sql`analyze`;
}

/** The SQL insert alone: µs per message for 20,000 messages written in 200-row statements. */
async function insertCost(sql: postgres.Sql, authorId: string, round: number): Promise<number> {
  const started = performance.now();
  for (let b = 0; b < 100; b++) {
    await sql.unsafe(`insert into messages (id, room_id, seq, author_id, content, html)
      select gen_random_uuid(), ${roomUuid(0)}, 1000000 + ${round * 1_000_000 + b * 200} + g, '${authorId}', c.content, c.content
      from generate_series(1, 200) g,
        lateral (select string_agg('w' || floor(${vocabulary} * power(random(), 3))::int, ' ') as content
                 from generate_series(1, 8) k where g > 0) c`);
  }
  return ((performance.now() - started) * 1000) / 20_000;
}

/**
 * Sends through the API: sequential latency (p50, p95) of 200, then 16 concurrent senders'
 * throughput and the CPU the server and its database's backends spent per send meanwhile.
 */
async function sends(
  side: { url: string; token: string; roomId: string; pids: () => Promise<number[]> },
  phase: string,
) {
  const { url, token, roomId } = side;
  let n = 0;
  const one = () =>
    api(url, `/api/v1/rooms/${roomId}/messages/${phase}-${n++}`, {
      method: "PUT",
      token,
      body: JSON.stringify({ content: `w${n % 300} w${(n * 7) % 2000} bench ${phase} message ${n}` }),
    });
  for (let i = 0; i < 20; i++) await one();
  const latencies: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await one();
    latencies.push(performance.now() - started);
  }
  const pids = await side.pids();
  const cpuBefore = cpuSeconds(pids);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 50; i++) await one();
    }),
  );
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    perSecond: 800 / ((performance.now() - started) / 1000),
    cpuMs: ((cpuSeconds(pids) - cpuBefore) * 1000) / 800,
  };
}

/** Mid-frequency and rare words: what people look for (the skew makes w0…w9 near-universal). */
function word(random: () => number) {
  return `w${50 + Math.floor(random() * (vocabulary - 50))}`;
}

/** A seeded generator, so both searchers and every run ask the same queries. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function queries(sql: postgres.Sql): Promise<{ kind: string; q: string }[]> {
  const random = mulberry32(16);
  const samples = await sql<{ content: string }[]>`
    select content from messages tablesample system (0.1) repeatable (16) where seq <= 1000 limit 200`;
  const list: { kind: string; q: string }[] = [];
  for (let i = 0; i < 40; i++) {
    list.push({ kind: "one word", q: word(random) });
    list.push({ kind: "two words", q: `${word(random)} ${word(random)}` });
    const words = (samples[i % samples.length]?.content ?? "w1 w2").split(" ");
    const at = Math.floor(random() * Math.max(1, words.length - 1));
    list.push({ kind: "phrase", q: `"${words.slice(at, at + 2).join(" ")}"` });
    list.push({ kind: "word + from:", q: `from:author_${Math.floor(random() * authorCount)} ${word(random)}` });
    list.push({ kind: "word + has:image", q: `has:image ${word(random)}` });
    list.push({ kind: "word + in:", q: `in:"room ${Math.floor(random() * 100)}" ${word(random)}` });
    list.push({ kind: "filters only", q: `from:author_${i % authorCount} has:image` });
    list.push({ kind: "common word (w0-w9)", q: `w${i % 10}` });
  }
  return list;
}

/** CPU seconds (user + system) of some processes, from /proc; a process that is gone counts 0. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(stat[11]) + Number(stat[12]);
    } catch {
      // ended meanwhile
    }
  }
  return ticks / 100;
}

/**
 * Times each query (wall clock), and the CPU the server process and its database backends
 * spent on all of them: on a busy machine the wall clock measures the queue for the CPU too,
 * the CPU time only the work.
 */
async function searches(
  target: { url: string; token: string; pids: () => Promise<number[]> },
  list: { kind: string; q: string }[],
  who: string,
) {
  const { url, token } = target;
  for (const { q } of list.slice(0, 40)) await api(url, `/api/v1/search?q=${encodeURIComponent(q)}`, { token });
  const byKind = new Map<string, number[]>();
  const all: number[] = [];
  const pids = await target.pids();
  const cpuBefore = cpuSeconds(pids);
  for (const { kind, q } of list) {
    const started = performance.now();
    await api(url, `/api/v1/search?q=${encodeURIComponent(q)}`, { token });
    const ms = performance.now() - started;
    byKind.set(kind, [...(byKind.get(kind) ?? []), ms]);
    if (!kind.startsWith("common")) all.push(ms);
  }
  const cpuMs = ((cpuSeconds(pids) - cpuBefore) * 1000) / list.length;
  report(`search ${who}: all but common words p50`, percentile(all, 50), "ms");
  report(`search ${who}: all but common words p95`, percentile(all, 95), "ms");
  report(`search ${who}: CPU per search, server + PostgreSQL (mean)`, cpuMs, "ms");
  for (const [kind, times] of byKind) {
    report(`search ${who}: ${kind} p50 / p95`, percentile(times, 50), `ms / ${percentile(times, 95).toFixed(1)} ms`);
  }
}

/** Load average over the last minute: the machine's other work, printed beside the figures. */
function load1(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ")[0] ?? "?";
}

const median = (values: number[]) => percentile(values, 50);
const change = (without: number, withIndex: number) =>
  `${withIndex >= without ? "+" : ""}${(((withIndex - without) / without) * 100).toFixed(1)}%`;

/** `npm run bench -- search`. */
export async function searchBenchmark(): Promise<void> {
  const admin = await benchPostgresUrl();
  if (admin == null) {
    process.stdout.write("search: no PostgreSQL reachable (set BENCH_DATABASE_URL)\n");
    return;
  }
  process.stdout.write(`search: load average ${load1()} at the start (figures are wall-clock)\n`);
  // Two databases with the same million messages: "plain" without the search column and its
  // index, "indexed" with them. Sends alternate between a server on each, so both sides of
  // the comparison see the same machine.
  const plain = await scratchDatabase(admin);
  const indexedName = `${new URL(plain.url).pathname.slice(1)}_indexed`;
  const indexedUrl = Object.assign(new URL(plain.url), { pathname: `/${indexedName}` }).toString();
  const dirs = [
    mkdtempSync(join(tmpdir(), "fedchat-bench-search-")),
    mkdtempSync(join(tmpdir(), "fedchat-bench-search-")),
  ];
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  const adminSql = postgres(admin, { max: 1, onnotice: () => {} });
  const backendQueries: postgres.Sql[] = [];
  let plainSql: postgres.Sql | undefined;
  let indexedSql: postgres.Sql | undefined;
  try {
    const db = await openDatabase({ url: plain.url, poolSize: 4 });
    await migrateDatabase(db);
    const config = loadConfig({ DATABASE_URL: plain.url, ORIGIN: "http://127.0.0.1:1" });
    const account = (username: string) =>
      createAccount({ config, db: db.db }, { username, password: "bench password" });
    const authors = [];
    for (let i = 0; i < authorCount; i++) authors.push((await account(`author_${i}`)).id);
    const narrow = await account("narrow");
    const wide = await account("wide");
    await db.close();

    plainSql = postgres(plain.url, { max: 1, onnotice: () => {} });
    // The server reads the column, so "plain" keeps one, but nothing computes or indexes it.
    await plainSql.unsafe("alter table messages drop column search");
    await plainSql.unsafe("alter table messages add column search tsvector");
    let started = performance.now();
    await load(plainSql, authors, narrow.id, wide.id);
    report(`search: load ${messageCount} messages in ${roomCount} rooms`, (performance.now() - started) / 1000, "s");
    await plainSql.end();
    await adminSql.unsafe(`create database ${indexedName} template ${new URL(plain.url).pathname.slice(1)}`);
    plainSql = postgres(plain.url, { max: 1, onnotice: () => {} });
    const indexed = postgres(indexedUrl, { max: 1, onnotice: () => {} });
    indexedSql = indexed;
    started = performance.now();
    await indexedSql.unsafe(addSearchSql);
    await indexedSql`analyze messages`;
    report("search: add the column and index to 1M messages", (performance.now() - started) / 1000, "s");
    const [size] = await indexedSql<{ table: string; index: string }[]>`
      select pg_size_pretty(pg_relation_size('messages')) as table,
        pg_size_pretty(pg_relation_size('messages_search_idx')) as index`;
    const [plainSize] = await plainSql<
      { table: string }[]
    >`select pg_size_pretty(pg_relation_size('messages')) as table`;
    process.stdout.write(
      `search: messages table ${plainSize?.table} without, ${size?.table} with the column; index ${size?.index}\n`,
    );

    for (const [i, url] of [plain.url, indexedUrl].entries()) {
      servers.push(
        await startServer(
          { DATABASE_URL: url, DATA_DIR: dirs[i] as string, RATE_LIMIT_FACTOR: "100000", LOG_LEVEL: "warning" },
          120_000,
        ),
      );
    }
    const [plainServer, indexedServer] = servers as [(typeof servers)[0], (typeof servers)[0]];
    const login = async (server: (typeof servers)[0], username: string) =>
      String(
        (
          await api(server.url, "/api/v1/auth/login", {
            method: "POST",
            body: JSON.stringify({ username, password: "bench password", refreshTokenIn: "body" }),
          })
        )?.accessToken,
      );
    const sides = await Promise.all(
      [plainServer, indexedServer].map(async (server) => {
        const token = await login(server, "narrow");
        const room = await api(server.url, "/api/v1/rooms", {
          method: "POST",
          token,
          body: JSON.stringify({ name: "Sends", visibility: "public" }),
        });
        const db = postgres(server === plainServer ? plain.url : indexedUrl, { max: 1, onnotice: () => {} });
        backendQueries.push(db);
        // The server process and the database's backends (PostgreSQL runs on this machine).
        const pids = async () => [
          server.child.pid as number,
          ...(await db<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database()`).map(
            (r) => Number(r.pid),
          ),
        ];
        return { url: server.url, server, token, roomId: String(room?.id), pids };
      }),
    );

    // Three rounds, alternating, each side's figures the median of its rounds.
    const figures = {
      without: [] as Awaited<ReturnType<typeof sends>>[],
      with: [] as Awaited<ReturnType<typeof sends>>[],
    };
    const inserts = { without: [] as number[], with: [] as number[] };
    for (let round = 0; round < 3; round++) {
      for (const [key, side, sql] of [
        ["without", sides[0], plainSql],
        ["with", sides[1], indexedSql],
      ] as const) {
        if (!side) continue;
        figures[key].push(await sends(side, `r${round}`));
        inserts[key].push(await insertCost(sql, authors[0] as string, round + 1));
      }
    }
    const pick = (key: "without" | "with", field: "p50" | "p95" | "perSecond" | "cpuMs") =>
      median(figures[key].map((f) => f[field]));
    for (const [label, field, unit] of [
      ["send p50 (sequential)", "p50", "ms"],
      ["send p95 (sequential)", "p95", "ms"],
      ["sends/s (16 concurrent senders)", "perSecond", "/s"],
      ["CPU per send, server + PostgreSQL", "cpuMs", "ms"],
    ] as const) {
      const a = pick("without", field);
      const b = pick("with", field);
      report(
        `${label}: without / with search`,
        a,
        `${unit} / ${b.toFixed(field === "perSecond" ? 0 : 2)} ${unit} (${change(a, b)})`,
      );
    }
    const a = median(inserts.without);
    const b = median(inserts.with);
    report("SQL insert per message: without / with search", a, `µs / ${b.toFixed(1)} µs (${change(a, b)})`);

    // The insert measurement's rows would crowd room 0's results: they go before searching.
    await indexedSql.unsafe(`delete from messages where room_id = ${roomUuid(0)} and seq > 1000000`);
    await indexedSql`vacuum analyze messages`;
    const list = await queries(indexedSql);
    const wideToken = await login(indexedServer, "wide");
    const pids = sides[1]?.pids ?? (async () => []);
    await searches({ url: indexedServer.url, token: sides[1]?.token ?? "", pids }, list, "member of 100 rooms");
    await searches({ url: indexedServer.url, token: wideToken, pids }, list, "member of 1000 rooms");
    process.stdout.write(`search: load average ${load1()} at the end\n`);
  } finally {
    for (const server of servers) await stopServer(server);
    for (const db of backendQueries) await db.end();
    await plainSql?.end();
    await indexedSql?.end();
    await adminSql.unsafe(`drop database if exists ${indexedName} with (force)`);
    await adminSql.end();
    await plain.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
