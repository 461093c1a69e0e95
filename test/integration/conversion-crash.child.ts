// A server that stops in the middle of a conversion, for artifacts-tools.test.ts: starts one on
// the data folder in IMAGE_STUDIO_DATA, prints the job once it has made progress, and sends
// itself <signal>: SIGKILL is a crash (no shutdown hook runs), SIGTERM an orderly stop.
// Run as: node --import tsx test/integration/conversion-crash.child.ts <buildId> <name> <format> <signal>
import { conversions, type ConversionFormat } from "@/server/artifacts/conversions";
import { buildQueue } from "@/server/builds/queue";
import { getDb } from "@/server/db/client";

const [buildId, name, format, signal] = process.argv.slice(2);
const c = conversions(buildQueue(getDb(), { concurrency: 1, mkosi: ["false"] }));
const job = await c.convert(Number(buildId), name!, format as ConversionFormat);
let crashing = false;
c.events.on("job", (j: typeof job) => {
  if (j.id !== job.id || crashing) return;
  if (j.state !== "running") {
    console.error(`the conversion ended before the ${signal}: ${JSON.stringify(j)}`);
    process.exit(1);
  }
  if (j.progress === 0) return;
  crashing = true;
  process.stdout.write(`${JSON.stringify(j)}\n`, () => process.kill(process.pid, signal as NodeJS.Signals));
});
