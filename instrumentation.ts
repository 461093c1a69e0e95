// Runs once when the server starts: open the database (migrations are applied before the
// first request, not during it) and start the build queue, which marks builds a previous
// server left running as interrupted and stops what is left of them; and the VM manager,
// which does the same for VMs and boot-checks builds of profiles that ask for it; and the
// conversions, which mark jobs left running as interrupted and remove their temporary files.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getDb } = await import("@/server/db/client");
  const { buildQueue } = await import("@/server/builds/queue");
  buildQueue(getDb());
  const { conversions } = await import("@/server/artifacts/conversions");
  conversions(buildQueue(getDb()));
  const { vms } = await import("@/server/vms/service");
  vms(getDb());
}
