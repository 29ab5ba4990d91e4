import { Person } from "@fedify/vocab";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rememberActor } from "../../federation/remote.ts";
import { fieldsOf } from "../../src/accounts/profile-fields.ts";
import { createTestInstance, type TestInstance } from "../helpers/instance.ts";

// A remote `Person`'s `PropertyValue` attachments in the shape Mastodon sends them (its
// context's `schema` terms, the value as HTML with `invisible` spans around a link's scheme).

let t: TestInstance;
beforeAll(async () => {
  t = await createTestInstance();
});
afterAll(async () => {
  await t?.dispose();
});

const context = [
  "https://www.w3.org/ns/activitystreams",
  "https://w3id.org/security/v1",
  { schema: "http://schema.org#", PropertyValue: "schema:PropertyValue", value: "schema:value" },
];

function mastodonPerson(attachment: unknown[]): Promise<Person> {
  return Person.fromJsonLd({
    "@context": context,
    id: "https://mastodon.example/users/quinn",
    type: "Person",
    preferredUsername: "quinn",
    name: "Quinn",
    inbox: "https://mastodon.example/users/quinn/inbox",
    attachment,
  });
}

const link = (host: string) =>
  `<a href="https://${host}/" target="_blank" rel="nofollow noopener me" translate="no"><span class="invisible">https://</span><span class="">${host}</span><span class="invisible"></span></a>`;

describe("a remote Person's profile fields", () => {
  it("are stored as plain text, at most four, and shown unverified", async () => {
    const person = await mastodonPerson([
      { type: "PropertyValue", name: "Pronouns", value: "they/them" },
      { type: "PropertyValue", name: "Site", value: link("quinn.example") },
      { type: "PropertyValue", name: "<b>Bold</b> label", value: "<script>x()</script>text" },
      { type: "Link", href: "https://elsewhere.example/" },
      { type: "PropertyValue", name: "Four", value: "4" },
      { type: "PropertyValue", name: "Five", value: "5" },
    ]);
    const id = await rememberActor(t.deps, person);
    expect(await fieldsOf(t.deps, id)).toEqual([
      { name: "Pronouns", value: "they/them", verifiedAt: null },
      { name: "Site", value: "https://quinn.example", verifiedAt: null },
      { name: "Bold label", value: "text", verifiedAt: null },
      { name: "Four", value: "4", verifiedAt: null },
    ]);
  });

  it("are replaced by a later version of the Person, and emptied by one without any", async () => {
    const id = await rememberActor(
      t.deps,
      await mastodonPerson([{ type: "PropertyValue", name: "New", value: "one" }]),
    );
    expect((await fieldsOf(t.deps, id)).map((f) => f.name)).toEqual(["New"]);
    await rememberActor(t.deps, await mastodonPerson([]));
    expect(await fieldsOf(t.deps, id)).toEqual([]);
  });

  it("reads at most a few attachments, so a list of thousands of links costs no more fetches", async () => {
    let fetched = 0;
    const person = await Person.fromJsonLd(
      {
        "@context": context,
        id: "https://mastodon.example/users/many",
        type: "Person",
        preferredUsername: "many",
        inbox: "https://mastodon.example/users/many/inbox",
        attachment: Array.from({ length: 1000 }, (_, i) => `https://attacker.example/n/${i}`),
      },
      {
        documentLoader: async (url: string) => {
          fetched++;
          return {
            contextUrl: null,
            documentUrl: url,
            document: { "@context": "https://www.w3.org/ns/activitystreams", id: url, type: "Note", content: "x" },
          };
        },
      },
    );
    const id = await rememberActor(t.deps, person);
    expect(await fieldsOf(t.deps, id)).toEqual([]);
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThanOrEqual(8);
  });
});
