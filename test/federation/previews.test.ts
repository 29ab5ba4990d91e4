import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Federated, showServerOutput, startFederated } from "../helpers/federated.ts";
import { type PageServer, startPageServer } from "../helpers/pages.ts";
import type { PeerActor } from "../helpers/peer.ts";
import { eventually, ok, register, roomMessages, type User } from "../helpers/stream.ts";

// A message from another server gets its cards here, fetched by this server when one of its
// users first reads it: never when the inbox takes it, and never from the card the other
// server might have put in its note.

interface MessageBody {
  id: string;
  content: string;
  previews: { url: string; title: string | null }[];
}

describe("link previews of messages from other servers", () => {
  let federated: Federated;
  let pages: PageServer;
  let alice: User;
  let room: { id: string; url: string };
  let quinn: PeerActor;

  beforeAll(async () => {
    [federated, pages] = await Promise.all([startFederated("fedchat-previews-"), startPageServer()]);
    alice = await register(federated.server, "alice");
    room = await ok(201, federated.server, alice.token, "POST", "/api/v1/rooms", {
      name: "Lobby",
      visibility: "public",
    });
    quinn = await federated.peer.actor("quinn");
  }, 60_000);

  afterAll(async () => {
    await federated?.close();
    await pages?.close();
  });

  showServerOutput(() => federated?.server);

  it("are fetched when a member here reads the message, not when it arrives", async () => {
    const { server, peer } = federated;
    const link = `${pages.origin}/og?remote`;
    // Alice reads with cards off first: her reads fetch nothing, so the inbox alone is seen.
    await ok(200, server, alice.token, "PUT", "/api/v1/me/link-previews", { enabled: false });
    const noteId = `${quinn.id}/notes/1`;
    const res = await peer.send(quinn, `${room.url}/inbox`, {
      "@context": "https://www.w3.org/ns/activitystreams",
      id: `${noteId}/activity`,
      type: "Create",
      actor: quinn.id,
      to: [room.url],
      object: {
        id: noteId,
        type: "Note",
        attributedTo: quinn.id,
        to: [room.url],
        content: `<p>see <a href="${link}">this</a></p>`,
        // What the other server says about the page is not taken.
        preview: { type: "Link", href: link, name: "Their own title" },
      },
    });
    expect(res.status, res.body).toBe(202);
    const stored = await eventually("the note in the room", async () =>
      (await roomMessages<MessageBody>(server, alice, room.id)).find((m) => m.content.includes("see")),
    );
    expect(stored.previews).toEqual([]);
    expect(pages.hits.get("/og?remote")).toBeUndefined();

    await ok(200, server, alice.token, "PUT", "/api/v1/me/link-previews", { enabled: true });
    const card = await eventually("the card, fetched here", async () => {
      const message = (await roomMessages<MessageBody>(server, alice, room.id)).find((m) => m.id === stored.id);
      return message?.previews[0];
    });
    expect(card).toMatchObject({ url: link, title: "The & Open Graph title" });
    expect(pages.hits.get("/og?remote")).toBe(1);
  });
});
