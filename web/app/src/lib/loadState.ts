/**
 * Where loading what a screen shows stands: under way, failed (and whether it was a rate limit,
 * where waiting is the answer), loaded but empty, or loaded. Every screen and list shows each of
 * these the same way (ui/QueryState.tsx).
 */
import { isRateLimited, type Described } from './errors';

export type LoadStatus = 'loading' | 'failed' | 'rateLimited' | 'empty' | 'ready';

export interface LoadInput {
  /** A request is under way (a first load, a retry, a catch-up). */
  fetching: boolean;
  /** There is something to show, even from an earlier answer. */
  loaded: boolean;
  /** What there is to show is an empty list. */
  empty?: boolean;
  /** Why the last request failed, when it did. */
  failure?: Described;
}

/**
 * What to show. Something loaded stays on screen (a later refresh that fails does not hide it);
 * a retry shows the loading state again until it answers; a failure without anything loaded is
 * the failure, told apart when it is a rate limit.
 */
export function loadStatus({ fetching, loaded, empty = false, failure }: LoadInput): LoadStatus {
  if (loaded) return empty ? 'empty' : 'ready';
  if (fetching || !failure) return 'loading';
  return isRateLimited(failure) ? 'rateLimited' : 'failed';
}

/**
 * The failure to show when the answer came without what was asked for and without an error (an
 * account the ledger has not heard of yet, after catching up gave up): `message` says what is
 * missing, and trying again may find it.
 */
export function missing(message: string): Described {
  return { code: 'NOT_FOUND', message, retryable: true };
}
