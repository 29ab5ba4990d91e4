import { describe, expect, it } from "vitest";
import { addressing, PUBLIC } from "../../federation/notes.ts";

const group = new URL("https://chat.example/rooms/0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
const followers = new URL(`${group.href}/followers`);

describe("addressing of what is said in a room", () => {
  it("sends a public room's to everyone, the Group and its followers in cc", () => {
    const { tos, ccs } = addressing({ group, public: true, followers });
    expect(tos).toEqual([PUBLIC]);
    expect(ccs).toEqual([group, followers]);
    expect(addressing({ group, public: true }).ccs).toEqual([group]);
  });

  it("never addresses a private room's to the public", () => {
    const { tos, ccs } = addressing({ group, public: false, followers });
    expect(tos).toEqual([group]);
    expect(ccs).toEqual([]);
  });
});
