// A build's states, decided here and used by the drizzle schema (the `state` column's enum),
// the server and the pages. No imports: the browser reads it without the database code.

/** In the order a build can pass through them. */
export const BUILD_STATES = ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] as const;
export type BuildState = (typeof BUILD_STATES)[number];
/** States a build never leaves. */
export const FINISHED_STATES = ["succeeded", "failed", "cancelled", "interrupted"] as const satisfies readonly BuildState[];
/** Waiting in the queue or running: its outputs are not final. */
export const ACTIVE_STATES = BUILD_STATES.filter((s) => !(FINISHED_STATES as readonly string[]).includes(s));

export const isFinished = (s: string): boolean => (FINISHED_STATES as readonly string[]).includes(s);
export const isActive = (s: string): boolean => (ACTIVE_STATES as readonly string[]).includes(s);
