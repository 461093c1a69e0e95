// Runs once when the server starts: open the database so migrations are applied before the
// first request, not during it.
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { getDb } = await import("@/server/db/client");
  getDb();
}
