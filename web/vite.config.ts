import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root,
  base: "/",
  publicDir: "public",
  // Preact's automatic JSX runtime; no Babel, no React compatibility layer.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The CSP forbids inline scripts and styles, so nothing may be inlined into index.html.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    // The emoji data (emoji-data.ts, ~740 kB, ~115 kB gzipped) is one chunk on purpose: loaded
    // when first wanted, never before the first screen, which web/size.ts holds to its budget.
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      "/api": { target: process.env.API_ORIGIN ?? "http://localhost:3000", ws: true, changeOrigin: false },
      "/media": process.env.API_ORIGIN ?? "http://localhost:3000",
    },
  },
});
