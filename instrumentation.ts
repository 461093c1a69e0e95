// Runs once when the server starts: open the database (migrations are applied before the
// first request, not during it) and start the build queue, which marks builds a previous
// server left running as interrupted and stops what is left of them.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getDb } = await import("@/server/db/client");
  const { buildQueue } = await import("@/server/builds/queue");
  buildQueue(getDb());
}
