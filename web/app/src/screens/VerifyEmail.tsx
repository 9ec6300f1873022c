import { useState, type FormEvent } from 'react';
import { verifyEmail } from '../auth/session';
import { MISSING_TOKEN_MESSAGE, describeVerifyFailure, verificationToken } from '../auth/verification';
import type { Described } from '../lib/errors';
import { hasErrors, validateVerifyEmail, type FieldErrors } from '../lib/validation';
import { Link, navigate, usePageTitle } from '../router';
import { Field, FormError, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

/**
 * The page the bank's confirmation e-mail links to (`/verify-email?token=…`): the password chosen
 * at sign-up confirms the address and signs in, as signing in does. A refused link or password
 * (the bank does not say which) can be tried again; a link that no longer works means signing
 * up again, which sends a new one.
 */
export function VerifyEmail() {
  usePageTitle('Confirm your e-mail address');
  const token = verificationToken(window.location.search);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy || !token) return;
    const found = validateVerifyEmail({ password });
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await verifyEmail(token, password);
    setBusy(false);
    if (result.data?.verifyEmail) {
      navigate('/', { replace: true });
      return;
    }
    const described = describeVerifyFailure(result.error);
    if (described.code === 'UNAUTHENTICATED') setPassword('');
    if (described.code === 'BAD_USER_INPUT' && described.field === 'password') setErrors({ password: described.message });
    else setFailure(described);
  };

  if (!token) {
    return (
      <section className="narrow">
        <h1 tabIndex={-1}>Confirm your e-mail address</h1>
        <FormError message={MISSING_TOKEN_MESSAGE} />
        <p>
          <Link href="/signup">Sign up again</Link> or, if your address is confirmed already, <Link href="/signin">sign in</Link>.
        </p>
      </section>
    );
  }

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Confirm your e-mail address</h1>
      <p>To finish opening your account, enter the password you chose when you signed up. That confirms your address and signs you in.</p>
      <form onSubmit={submit} noValidate>
        <Field
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          required
        />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Confirming…">Confirm and sign in</SubmitButton>
      </form>
      {failure?.code === 'UNAUTHENTICATED' && (
        <p>
          Link expired or used already? <Link href="/signup">Sign up again</Link> with the same address for a new one.
        </p>
      )}
      <p>
        Confirmed already? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
