import { useState, type FormEvent } from 'react';
import { MISSING_RESET_TOKEN_MESSAGE, describeResetFailure, fieldFor, resetToken } from '../auth/passwords';
import { resetPassword } from '../auth/session';
import type { Described } from '../lib/errors';
import { hasErrors, validateResetPassword, type FieldErrors } from '../lib/validation';
import { Link, navigate, usePageTitle } from '../router';
import { Field, FormError, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

const PASSWORD_HINT = 'At least 10 characters, with a letter and a digit, and not your e-mail address.';

/**
 * The page the bank's reset e-mail links to (`/reset-password?token=…`): a new password, twice.
 * The bank sets it, ends every session of the person and signs in here: then the accounts
 * overview. A link that is unknown, used or expired says so and leads to asking for a new one; a
 * weak password is refused next to the field (the link still works).
 */
export function ResetPassword() {
  usePageTitle('Choose a new password');
  const token = resetToken(window.location.search);
  const [newPassword, setNewPassword] = useState('');
  const [confirmPassword, setConfirmPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy || !token) return;
    const found = validateResetPassword({ newPassword, confirmPassword });
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await resetPassword(token, newPassword);
    setBusy(false);
    if (result.data?.resetPassword) {
      navigate('/', { replace: true });
      return;
    }
    const described = describeResetFailure(result.error);
    const field = fieldFor(described, ['newPassword']);
    if (field) setErrors({ [field]: described.message });
    else setFailure(described);
  };

  if (!token) {
    return (
      <section className="narrow">
        <h1 tabIndex={-1}>Choose a new password</h1>
        <FormError message={MISSING_RESET_TOKEN_MESSAGE} />
        <p>
          <Link href="/forgot-password">Ask for a new link</Link> or, if you remember your password, <Link href="/signin">sign in</Link>.
        </p>
      </section>
    );
  }

  const linkRefused = failure?.code === 'UNAUTHENTICATED';
  return (
    <section className="narrow">
      <h1 tabIndex={-1}>Choose a new password</h1>
      <p>Choose a new password for your bank. Once it is set, you are signed in here and signed out everywhere else.</p>
      <form onSubmit={submit} noValidate>
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          hint={PASSWORD_HINT}
          value={newPassword}
          onChange={(e) => setNewPassword(e.target.value)}
          error={errors.newPassword}
          required
        />
        <Field
          label="New password again"
          type="password"
          autoComplete="new-password"
          value={confirmPassword}
          onChange={(e) => setConfirmPassword(e.target.value)}
          error={errors.confirmPassword}
          required
        />
        <FormFailure failure={failure} onRetry={() => void submit()} busy={busy} />
        <SubmitButton busy={busy} busyText="Setting your password…">
          Set password and sign in
        </SubmitButton>
      </form>
      {linkRefused && (
        <p>
          <Link href="/forgot-password">Ask for a new link</Link>
        </p>
      )}
      <p>
        Remembered it? <Link href="/signin">Sign in</Link>
      </p>
    </section>
  );
}
