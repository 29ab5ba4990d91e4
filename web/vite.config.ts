import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * Keeps of emojibase's data what `src/emoji-data.ts` reads: a skin-toned form needs only its
 * text, and the shortcodes of skin-toned forms (`+1_tone3`) are never offered. The emoji chunk
 * goes from about 740 to 400 KB (115 to 80 KB gzipped).
 */
function slimEmojibase(): Plugin {
  const skinToned = /-1F3F[B-F]/;
  return {
    name: "fedchat:slim-emojibase",
    enforce: "pre",
    transform(code, id) {
      if (id.endsWith("/emojibase-data/en/compact.json")) {
        const emoji = JSON.parse(code) as { skins?: { unicode: string }[]; emoticon?: unknown }[];
        const slim = emoji.map(({ skins, emoticon: _, ...rest }) => ({
          ...rest,
          ...(skins ? { skins: skins.map(({ unicode }) => ({ unicode })) } : {}),
        }));
        return { code: JSON.stringify(slim), map: null };
      }
      if (id.endsWith("/emojibase-data/en/shortcodes/emojibase.json")) {
        const codes = Object.entries(JSON.parse(code) as Record<string, unknown>);
        return { code: JSON.stringify(Object.fromEntries(codes.filter(([hex]) => !skinToned.test(hex)))), map: null };
      }
      return undefined;
    },
  };
}

export default defineConfig({
  root,
  base: "/",
  publicDir: "public",
  // Preact's automatic JSX runtime; no Babel, no React compatibility layer.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  plugins: [slimEmojibase()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The CSP forbids inline scripts and styles, so nothing may be inlined into index.html.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "/api": { target: process.env.API_ORIGIN ?? "http://localhost:3000", ws: true, changeOrigin: false },
      "/media": process.env.API_ORIGIN ?? "http://localhost:3000",
    },
  },
});
