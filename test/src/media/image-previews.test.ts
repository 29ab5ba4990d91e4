import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { makePreview, maxAnimatedPixels } from "../../../src/media/image-previews.ts";
import { animatedGif } from "../../helpers/animated.ts";

const framesOf = async (bytes: Uint8Array) => (await sharp(bytes).metadata()).pages ?? 1;

describe("makePreview", () => {
  it("keeps a short animation's frames", async () => {
    expect(await framesOf(await makePreview(await animatedGif(4, 64)))).toBe(4);
  });

  it("previews the first frame of an animation past the budget, instead of refusing it", async () => {
    // 65 frames of 500×500: a little over the budget. Decoding every frame of a far larger one
    // (a long 720p GIF, a 200-frame sticker) used to run past libvips's pixel limit: 415.
    const frames = 65;
    expect(frames * 500 * 500).toBeGreaterThan(maxAnimatedPixels);
    const preview = await makePreview(await animatedGif(frames, 500));
    expect(await framesOf(preview)).toBe(1);
    expect((await sharp(preview).metadata()).width).toBe(400);
  }, 60_000);
});
