import { useCallback, useEffect, useState } from 'react';
import { completeSignIn, type CallbackOutcome } from '../auth/session';
import { Link, navigate, usePageTitle } from '../router';
import { FormError } from '../ui/components';
import { LoadFailure } from '../ui/QueryState';
import { StartSignIn } from './SignIn';

/**
 * Where the bank's sign-in page sends the browser back (`/callback?code=…&state=…&iss=…`): the
 * answer is checked against the sign-in this tab started and exchanged for a session, then the
 * accounts overview. An answer that is refused (not this tab's, the provider's error, a spent
 * code) says so, signs nobody in, and offers to sign in again; a token endpoint or API that was
 * busy or out of reach says so with Try again, which goes on with the same answer.
 */
export function Callback() {
  usePageTitle('Signing in');
  const [search] = useState(() => window.location.search);
  const [outcome, setOutcome] = useState<CallbackOutcome>();
  const [busy, setBusy] = useState(true);

  const finish = useCallback(
    (retry: boolean) => {
      setBusy(true);
      void completeSignIn(search, { retry }).then((next) => {
        setOutcome(next);
        setBusy(false);
        if (next.status === 'signedIn') navigate('/', { replace: true });
      });
    },
    [search],
  );

  useEffect(() => finish(false), [finish]);

  let body;
  if (outcome?.status === 'refused') {
    body = (
      <>
        <FormError message={outcome.message} />
        <StartSignIn>Sign in again</StartSignIn>
        <p>
          Not now? <Link href="/signin">Back to signing in</Link>
        </p>
      </>
    );
  } else if (outcome?.status === 'failed') {
    body = (
      <>
        <LoadFailure failure={outcome.failure} onRetry={() => finish(true)} busy={busy} />
        <p>
          Still not working? <Link href="/signin">Start signing in again</Link>
        </p>
      </>
    );
  } else {
    body = <p aria-live="polite">Signing you in…</p>;
  }

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Signing in</h1>
      {body}
    </section>
  );
}
