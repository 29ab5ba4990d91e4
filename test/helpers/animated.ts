import sharp from "sharp";

/**
 * An animated GIF made by libvips: `frames` squares of `size` pixels, alternating between two
 * colours, looping, each shown for `delay` ms.
 */
export async function animatedGif(frames: number, size: number, delay = 100): Promise<Uint8Array> {
  const colours = [
    [40, 120, 220],
    [250, 180, 30],
  ] as const;
  const strip = Buffer.concat(
    Array.from({ length: frames }, (_, i) => {
      const [r, g, b] = colours[i % 2] as readonly [number, number, number];
      const frame = Buffer.alloc(size * size * 3);
      for (let p = 0; p < size * size; p++) frame.set([r, g, b], p * 3);
      return frame;
    }),
  );
  return new Uint8Array(
    await sharp(strip, { raw: { width: size, height: size * frames, channels: 3, pageHeight: size } })
      .gif({ loop: 0, delay: Array(frames).fill(delay) })
      .toBuffer(),
  );
}
