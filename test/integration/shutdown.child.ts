// A server process with one owned child that needs time to clean up, for shutdown.test.ts:
// prints "ready" once the child runs, then waits to be sent SIGTERM or SIGINT.
// Run as: node --import tsx test/integration/shutdown.child.ts <cleanup seconds>
import { startOwned } from "@/server/processes/registry";

const seconds = Number(process.argv[2]);
// The child traps SIGTERM, takes its time, and says when it has cleaned up.
const child = startOwned("slow-cleanup", "python3", [
  "-c",
  `import signal, sys, time
def stop(*_):
    print("stopping", flush=True)
    time.sleep(${seconds})
    print("cleaned up", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready", flush=True)
time.sleep(600)`,
]);
child.stdout.pipe(process.stdout);
