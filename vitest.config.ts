import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { fileURLToPath } from "node:url";

/**
 * The files that build real images and boot them under emulation: most of the suite's time,
 * much of it one busy core (a TCG boot, apt unpacking). They start first, each in its own
 * worker, and everything else runs beside them in the third.
 */
const LONG_FILES = ["test/e2e/debian-12.test.ts", "test/integration/verified-boot.test.ts"];

class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONG_FILES.findIndex((l) => f.moduleId.endsWith(l));
      return i === -1 ? LONG_FILES.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  resolve: { alias: { "@": fileURLToPath(new URL("./", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    // Integration and browser tests start real processes (mkosi, a server, chromium).
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Each file owns its servers, data folders, ports and VMs; the package cache they share is
    // mkosi's to lock (its metadata) and holds each release's packages under their own names.
    maxWorkers: LONG_FILES.length + 1,
    sequence: { sequencer: LongFirst },
  },
});
