import { Activity } from "@fedify/vocab";
import { describe, expect, it } from "vitest";
import { contextDocument, contextLoader } from "../../federation/contexts.ts";

const as = "https://www.w3.org/ns/activitystreams";
const nothingFetched = async (url: string): Promise<never> => {
  throw new Error(`fetched ${url}`);
};

describe("JSON-LD contexts from memory", () => {
  it("knows the preloaded contexts in their http, https and trailing-slash spellings", () => {
    for (const url of [as, "http://www.w3.org/ns/activitystreams", `${as}#`, "http://w3id.org/security/v1"]) {
      expect(contextDocument(url), url).toBeDefined();
    }
    expect(contextDocument("http://joinmastodon.org/ns")).toBeDefined();
    expect(contextDocument("https://join-lemmy.org/context.json")).toBeDefined();
  });

  it("knows LitePub at any instance's path, and Mobilizon's copy", () => {
    const litepub = contextDocument("https://akkoma.example/schemas/litepub-0.1.jsonld");
    expect(litepub).toBeDefined();
    expect(contextDocument("https://litepub.social/litepub/context.jsonld")).toBe(litepub);
    expect(contextDocument("https://akkoma.example/other/litepub-0.1.jsonld")).toBeUndefined();
  });

  it("answers anything else as an empty context, never fetching", async () => {
    for (const url of ["https://hubzilla.example/apschema/v1.10", "https://mbin.example/contexts", "not a url"]) {
      expect(contextDocument(url)).toBeUndefined();
      expect((await contextLoader(url)).document).toEqual({ "@context": {} });
    }
  });

  it("parses a Hubzilla Create with its apschema: the ActivityStreams terms still count", async () => {
    const create = await Activity.fromJsonLd(
      {
        "@context": [as, "https://w3id.org/security/v1", "https://hubzilla.example/apschema/v1.10"],
        id: "https://hubzilla.example/activity/1",
        type: "Create",
        actor: "https://hubzilla.example/channel/ada",
        object: {
          type: "Note",
          id: "https://hubzilla.example/item/1",
          content: "hello from a hub",
          commentPolicy: "authenticated",
        },
      },
      { contextLoader, documentLoader: nothingFetched },
    );
    const note = await create.getObject({ documentLoader: nothingFetched });
    expect(note?.content?.toString()).toBe("hello from a hub");
  });
});
