import { useState, type FormEvent } from 'react';
import { requestPasswordReset } from '../auth/session';
import { describeError, type Described } from '../lib/errors';
import { hasErrors, validateForgotPassword, type FieldErrors } from '../lib/validation';
import { Link, usePageTitle } from '../router';
import { Field, Notice, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

/**
 * Forgot your password? (`/forgot-password`): the bank e-mails a link to choose a new one
 * (ResetPassword.tsx). The screen shows the bank's answer, the same whether or not the address
 * has an account.
 */
export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);
  /** The bank's answer once the form is sent. */
  const [sent, setSent] = useState<string>();
  usePageTitle(sent ? 'Check your e-mail' : 'Reset your password');

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    const found = validateForgotPassword({ email });
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await requestPasswordReset(email);
    setBusy(false);
    if (result.data?.requestPasswordReset) {
      setSent(result.data.requestPasswordReset.message);
      return;
    }
    const described = describeError(result.error);
    if (described.code === 'BAD_USER_INPUT' && described.field === 'email') setErrors({ email: described.message });
    else setFailure(described);
  };

  if (sent) {
    return (
      <section className="narrow">
        <h1 tabIndex={-1}>Check your e-mail</h1>
        <Notice tone="success">{sent}</Notice>
        <p>Open the link in that e-mail to choose a new password. It works once, for an hour.</p>
        <p>
          Nothing came? Look in your spam folder, or{' '}
          <button type="button" className="link" onClick={() => setSent(undefined)}>
            ask again
          </button>
          .
        </p>
        <p>
          Remembered it? <Link href="/signin">Sign in</Link>
        </p>
      </section>
    );
  }

  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Reset your password</h1>
      <p>Enter the e-mail address you bank with. We will e-mail you a link to choose a new password.</p>
      <form onSubmit={submit} noValidate>
        <Field
          label="E-mail address"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
          required
        />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Sending…">
          Send me a link
        </SubmitButton>
      </form>
      <p>
        Remembered it? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
