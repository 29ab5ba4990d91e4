/**
 * The world of the hostile-peer tests: a real server process on a fresh PostgreSQL database
 * (so the tests can read its tables and put servers on the block list), an honest peer whose
 * felix posts in alice's public room and whose `club` Group hosts a room bob is in (mirrored
 * here), and an attacker's peer with mallory.
 */
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { expect } from "vitest";
import { preparedDataDir } from "./data-dir.ts";
import { withDatabase } from "./global-setup.ts";
import { Peer, type PeerActor } from "./peer.ts";
import { type ServerProcess, startServer, stopServer } from "./server.ts";
import { eventually, ok, register, type User } from "./stream.ts";

export type Json = Record<string, unknown>;
export const PUBLIC = "https://www.w3.org/ns/activitystreams#Public";
export const AS = "https://www.w3.org/ns/activitystreams";
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface RoomBody {
  id: string;
  url: string;
  membership?: string;
}
export interface MessageBody {
  id: string;
  seq: number;
  url: string;
  content: string;
  editedAt: string | null;
  deletedAt: string | null;
  reactions: { emoji: string; count: number }[];
}

export interface HostileWorld {
  readonly server: ServerProcess;
  /** The server's database. */
  readonly sql: postgres.Sql;
  readonly honest: Peer;
  readonly evil: Peer;
  readonly alice: User;
  readonly bob: User;
  /** alice's public room, hosted here; felix is in it. */
  readonly room: RoomBody;
  /** bob's mirror of club, a room on the honest server. */
  readonly mirror: RoomBody;
  readonly felix: PeerActor;
  readonly club: PeerActor;
  readonly mallory: PeerActor;
  readonly roomInbox: string;
  readonly sharedInbox: string;
  /** A fresh number, for unique ids. */
  next(): number;
  history(user?: User, roomId?: string): Promise<MessageBody[]>;
  /** A `Create{Note}` by `author` addressed to the room, with its note. */
  createNote(author: PeerActor, text: string, extra?: Json): { create: Json; note: Json };
  /**
   * felix posts a marker; once it is in the room and the room has relayed it to the honest
   * server, everything delivered before it has been handled (one queue, processed in turn).
   */
  marker(): Promise<MessageBody>;
  /** Fails if any message, stored or relayed, contains `text`. */
  nowhere(text: string): Promise<void>;
  close(): Promise<void>;
}

/** Starts the hostile-peer world; `prefix` names its data folder and database. */
export async function startHostileWorld(prefix: string, env: Record<string, string> = {}): Promise<HostileWorld> {
  const dir = preparedDataDir(`fedchat-${prefix}-`);
  const database = `fedchat_${prefix.replace(/\W/g, "_")}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${database}`);
  const [server, honest, evil] = await Promise.all([
    startServer({
      DATA_DIR: dir,
      DATABASE_URL: withDatabase(adminUrl, database),
      RATE_LIMIT_FACTOR: "1000",
      FEDERATION_ALLOW_PRIVATE_ADDRESS: "true",
      QUEUE_POLL_INTERVAL_MS: "100",
      LOG_LEVEL: process.env.FED_LOG ?? "warning",
      ...env,
    }),
    Peer.start(),
    Peer.start(),
  ]);
  const sql = postgres(withDatabase(adminUrl, database), { max: 2, onnotice: () => {} });
  const [alice, bob] = await Promise.all([register(server, "alice"), register(server, "bob")]);
  const room = await ok<RoomBody>(201, server, alice.token, "POST", "/api/v1/rooms", {
    name: "Lobby",
    visibility: "public",
  });
  const [felix, club, mallory] = await Promise.all([
    honest.actor("felix"),
    honest.actor("club", { type: "Group" }),
    evil.actor("mallory"),
  ]);
  let serial = 0;
  const next = () => ++serial;
  const roomInbox = `${room.url}/inbox`;
  const history = (user = alice, id = room.id) =>
    ok<{ messages: MessageBody[] }>(200, server, user.token, "GET", `/api/v1/rooms/${id}/messages?limit=100`).then(
      (r) => r.messages,
    );
  const createNote = (author: PeerActor, text: string, extra: Json = {}) => {
    const n = next();
    const note: Json = {
      id: `${author.id}/statuses/${n}`,
      type: "Note",
      attributedTo: author.id,
      to: [room.url],
      cc: [PUBLIC],
      content: `<p>${text}</p>`,
      published: new Date().toISOString(),
      ...extra,
    };
    const create: Json = {
      "@context": AS,
      id: `${author.id}/statuses/${n}/activity`,
      type: "Create",
      actor: author.id,
      to: [room.url],
      cc: [PUBLIC],
      object: note,
    };
    return { create, note };
  };
  const marker = async () => {
    const text = `marker ${next()}`;
    const { create } = createNote(felix, text);
    expect((await honest.send(felix, roomInbox, create)).status).toBe(202);
    const stored = await eventually(`the ${text}`, async () => (await history()).find((m) => m.content === text));
    await honest.receive(`the relay of ${text}`, (a) => a.type === "Announce" && JSON.stringify(a).includes(text));
    return stored;
  };
  // felix posts: the room now relays to the honest server.
  await marker();

  // bob joins club, a room on the honest server: we keep a mirror of it.
  const asked = await ok<RoomBody>(202, server, bob.token, "POST", "/api/v1/rooms/join", { target: club.id });
  const request = await honest.receive(
    "bob's join",
    (a) => (a.type === "Join" || a.type === "Follow") && a.object === club.id,
  );
  const accept = { "@context": AS, id: `${club.id}#accept-1`, type: "Accept", actor: club.id, object: request.id };
  expect((await honest.send(club, `${server.url}/inbox`, { ...accept, to: request.actor })).status).toBe(202);
  const mirror = await eventually("bob to be in club", async () => {
    const { rooms } = await ok<{ rooms: RoomBody[] }>(200, server, bob.token, "GET", "/api/v1/rooms");
    return rooms.find((r) => r.id === asked.id && r.membership === "joined");
  });

  return {
    server,
    sql,
    honest,
    evil,
    alice,
    bob,
    room,
    mirror,
    felix,
    club,
    mallory,
    roomInbox,
    sharedInbox: `${server.url}/inbox`,
    next,
    history,
    createNote,
    marker,
    async nowhere(text) {
      await marker();
      expect((await history()).map((m) => m.content).join("\n")).not.toContain(text);
      expect((await history(bob, mirror.id)).map((m) => m.content).join("\n")).not.toContain(text);
      const rows = await sql`select count(*)::int as count from messages where content like ${`%${text}%`}`;
      expect(rows[0]?.count).toBe(0);
      for (const peer of [honest, evil]) {
        expect(peer.received("Announce").filter((a) => JSON.stringify(a).includes(text))).toEqual([]);
      }
    },
    async close() {
      if (process.env.FED_DUMP) writeFileSync(process.env.FED_DUMP, server.output());
      await Promise.all([honest.close(), evil.close()]);
      await stopServer(server);
      await sql.end();
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
