import type { ReactNode } from 'react';
import { UNKNOWN_MESSAGE, isRateLimited, type Described } from '../lib/errors';
import type { LoadStatus } from '../lib/loadState';
import { FormError } from './components';

/**
 * A load that failed: what went wrong in words for people, and Try again. A rate limit (NGINX's
 * 429, sign-ins slowed down) is told apart: a warning that says to wait, not an error.
 */
export function LoadFailure({ failure, onRetry, busy = false }: { failure: Described; onRetry: () => void; busy?: boolean }) {
  const limited = isRateLimited(failure);
  return (
    <div className={`load-failure${limited ? ' load-failure-rate-limited' : ''}`} data-testid={limited ? 'rate-limited' : 'load-failure'}>
      <div role="alert" className={`alert ${limited ? 'alert-warning' : 'alert-error'}`}>
        {failure.message}
      </div>
      <button type="button" className="primary" onClick={onRetry} disabled={busy}>
        Try again
      </button>
    </div>
  );
}

/**
 * What a screen or a list shows while its data is not there to show: loading, the failure with
 * Try again (a rate limit apart), or the words for an empty list. Nothing once it is loaded; the
 * screen shows its data. `item`: inside a list, each state is a list item.
 */
export function QueryState({
  status,
  failure,
  onRetry,
  loading,
  empty,
  item = false,
}: {
  status: LoadStatus;
  failure?: Described;
  onRetry: () => void;
  /** "Loading your accounts…" */
  loading: string;
  /** What an empty list says, when the list can be empty. */
  empty?: ReactNode;
  item?: boolean;
}) {
  switch (status) {
    case 'loading':
      return item ? <li aria-live="polite">{loading}</li> : <p aria-live="polite">{loading}</p>;
    case 'failed':
    case 'rateLimited': {
      const box = <LoadFailure failure={failure ?? { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: true }} onRetry={onRetry} />;
      return item ? <li>{box}</li> : box;
    }
    case 'empty':
      if (!empty) return null;
      return item ? <li className="muted">{empty}</li> : <p>{empty}</p>;
    default:
      return null;
  }
}

/**
 * A form's failure: a rate limit as the same warning with Try again (which sends the form again:
 * a request NGINX refused never reached the bank), anything else as the form's error, fixed by
 * changing the form and sending it again.
 */
export function FormFailure({ failure, onRetry, busy = false }: { failure?: Described; onRetry: () => void; busy?: boolean }) {
  if (failure && isRateLimited(failure)) return <LoadFailure failure={failure} onRetry={onRetry} busy={busy} />;
  return <FormError message={failure?.message} />;
}
