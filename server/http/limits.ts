// Limits on what one request may ask of the server. No imports: the browser's client reads
// the batch size from here too.

/** Calls in one tRPC batch; the client's batch link sends at most this many. */
export const MAX_BATCH = 10;

/** A JSON request body (a profile document with its imported files is the largest). */
export const JSON_BODY_BYTES = 32 * 1024 * 1024;

/** The login form: a token and where to go next. */
export const LOGIN_BODY_BYTES = 8 * 1024;
