import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    // Integration and browser tests start real processes (mkosi, a server, chromium).
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
