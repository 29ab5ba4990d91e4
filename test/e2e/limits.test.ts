import { rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { preparedDataDir } from "../helpers/data-dir.ts";
import { type ServerProcess, startServer, stopServer } from "../helpers/server.ts";
import { openStream, refusedUpgrade, register, StreamSocket, streamUrl, ticket, type User } from "../helpers/stream.ts";

// Clients that take more than their share: many sockets for one user, many connections from
// one address, a body trickled a byte at a time (issue 12). Small limits, set for the test.

describe("limits on what one client holds open", () => {
  let dir: string;
  let server: ServerProcess;
  let zoe: User;
  const sockets: StreamSocket[] = [];
  const raw: Socket[] = [];

  beforeAll(async () => {
    dir = preparedDataDir("fedchat-limits-");
    server = await startServer({
      DATA_DIR: dir,
      RATE_LIMIT_FACTOR: "1000",
      STREAM_MAX_PER_USER: "3",
      MAX_CONNECTIONS_PER_ADDRESS: "12",
      REQUEST_TIMEOUT_MS: "2000",
    });
    zoe = await register(server, "zoe");
  }, 90_000);

  afterAll(async () => {
    for (const socket of sockets) socket.ws.terminate();
    for (const socket of raw) socket.destroy();
    if (server) await stopServer(server, "SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a plain TCP connection to the server; resolves once it is connected. */
  const tcp = () =>
    new Promise<Socket>((resolve, reject) => {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname, () => resolve(socket));
      socket.on("error", reject);
      raw.push(socket);
    });

  /** Resolves with how the socket ended: what the server sent, and after how long. */
  const ending = (socket: Socket, ms: number) =>
    new Promise<{ closed: boolean; received: string; after: number }>((resolve) => {
      const started = Date.now();
      let received = "";
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      socket.on("error", () => {});
      const timer = setTimeout(() => resolve({ closed: false, received, after: Date.now() - started }), ms);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve({ closed: true, received, after: Date.now() - started });
      });
    });

  it("lets one user hold STREAM_MAX_PER_USER streams, refuses the next with 429, and takes one again after a close", async () => {
    for (let i = 0; i < 3; i++) sockets.push(await openStream(server, zoe, `zoe#${i}`));
    const refused = await refusedUpgrade(streamUrl(server), ["chat.v1", `ticket.${await ticket(server, zoe)}`]);
    expect(refused.status).toBe(429);
    expect(refused.body).toContain("rate_limited");
    const sse = await fetch(`${server.url}/api/v1/stream?ticket=${await ticket(server, zoe)}`);
    expect(sse.status).toBe(429);
    await sse.body?.cancel();
    const first = sockets.shift() as StreamSocket;
    const closed = new Promise((resolve) => first.ws.once("close", resolve));
    first.ws.close(1000);
    await closed;
    // The server sees the close a moment later.
    let again: StreamSocket | undefined;
    for (let attempt = 0; attempt < 20 && again == null; attempt++) {
      again = await openStream(server, zoe, "zoe#again").catch(() => undefined);
      if (again == null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toBeDefined();
    sockets.push(again as StreamSocket);
    // Gone before the next test counts this address's connections: a socket still closing
    // there once took a place, so a held connection was refused and the extra one admitted.
    await Promise.all(
      sockets.splice(0).map(
        (socket) =>
          new Promise((resolve) => {
            socket.ws.once("close", resolve);
            socket.ws.close(1000);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
  });

  it("closes a request whose body trickles in slower than REQUEST_TIMEOUT_MS allows", async () => {
    const socket = await tcp();
    socket.write(
      "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    );
    const drip = setInterval(() => socket.writable && socket.write(" "), 300);
    const end = await ending(socket, 15_000);
    clearInterval(drip);
    // Before the limit, it stayed open for as long as the client kept dripping (past 200 s).
    expect(end.closed).toBe(true);
    expect(end.after).toBeLessThan(10_000);
    expect(end.received).toMatch(/^HTTP\/1\.1 408 |^$/);
  });

  it("holds one address to MAX_CONNECTIONS_PER_ADDRESS connections, and serves it again once it lets go", async () => {
    const held = await Promise.all(Array.from({ length: 12 }, tcp));
    const extra = await tcp();
    const refused = await ending(extra, 5000);
    expect(refused.closed).toBe(true);
    expect(refused.received).toMatch(/^HTTP\/1\.1 429 /);
    for (const socket of held) socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // A WebSocket counts like any connection, and the process is unharmed throughout.
    const ws = new StreamSocket(
      "zoe#after",
      new WebSocket(streamUrl(server), ["chat.v1", `ticket.${await ticket(server, zoe)}`]),
    );
    sockets.push(ws);
    await new Promise((resolve, reject) => {
      ws.ws.once("open", resolve);
      ws.ws.once("error", reject);
    });
    expect(server.child.exitCode).toBeNull();
  });
});
