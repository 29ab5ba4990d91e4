/** A room's state outside the browser: how the server's answers and the stream's events meet. */
import { describe, expect, it } from "vitest";
import { RoomState } from "../../web/src/room-state.ts";
import type { Message, PreviewCard } from "../../web/src/types.ts";

function message(change: Partial<Message> = {}): Message {
  return {
    id: "m1",
    seq: 1,
    roomId: "r1",
    url: "https://chat.example/rooms/r1/messages/m1",
    author: null,
    content: "Read this: https://example.com/",
    html: "<p>Read this</p>",
    replyTo: null,
    reactions: [],
    attachments: [],
    threadRootId: null,
    alsoInRoom: false,
    thread: null,
    editedAt: null,
    deletedAt: null,
    createdAt: "2026-12-07T20:00:00.000Z",
    ...change,
  };
}

const card: PreviewCard = {
  url: "https://example.com/",
  title: "Example",
  description: null,
  siteName: null,
  image: null,
};

function loadedRoom(): RoomState {
  const state = new RoomState("r1");
  state.loaded.value = true;
  return state;
}

describe("a room's state", () => {
  it("keeps what the stream brought when the answer to the send comes after it", () => {
    const state = loadedRoom();
    state.upsert(message());
    state.patch("m1", (m) => ({ ...m, previews: [card], reactions: [{ emoji: "👍", count: 1, me: false }] }));
    state.answered(message());
    expect(state.messages.value).toHaveLength(1);
    expect(state.messages.value[0]?.previews).toEqual([card]);
    expect(state.messages.value[0]?.reactions).toHaveLength(1);
  });

  it("takes the answer to a send the stream has not brought yet", () => {
    const state = loadedRoom();
    state.answered(message());
    expect(state.messages.value.map((m) => m.id)).toEqual(["m1"]);
  });

  it("takes the answer to an edit unless the stream brought that edit first", () => {
    const state = loadedRoom();
    state.upsert(message());
    state.answered(message({ content: "edited", editedAt: "2026-12-07T20:01:00.000Z" }));
    expect(state.messages.value[0]?.content).toBe("edited");

    state.upsert(message({ content: "edited again", editedAt: "2026-12-07T20:02:00.000Z" }));
    state.patch("m1", (m) => ({ ...m, previews: [card] }));
    state.answered(message({ content: "edited again", editedAt: "2026-12-07T20:02:00.000Z" }));
    expect(state.messages.value[0]?.previews).toEqual([card]);
    // An answer older than what the stream brought changes nothing.
    state.answered(message({ content: "edited", editedAt: "2026-12-07T20:01:00.000Z" }));
    expect(state.messages.value[0]?.content).toBe("edited again");
  });
});
