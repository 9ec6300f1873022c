import { useState, type FormEvent } from 'react';
import { describeChangeFailure, fieldFor } from '../auth/passwords';
import { changePassword, useSession } from '../auth/session';
import type { Described } from '../lib/errors';
import { hasErrors, validateChangePassword, type FieldErrors } from '../lib/validation';
import { LIVE_NOTIFICATIONS } from '../notifications/config';
import { Link, usePageTitle } from '../router';
import { Field, Notice, SubmitButton } from '../ui/components';
import { FormFailure } from '../ui/QueryState';

const FIELDS = ['currentPassword', 'newPassword', 'confirmPassword'] as const;

/** The success message: the new password works from now on, other sessions ended. */
export const PASSWORD_CHANGED_MESSAGE =
  'Your password is changed. You stay signed in here; everywhere else you were signed in, you are signed out.';

/**
 * Changing the password (`/settings/password`), beside the notification settings: the current
 * password and the new one twice. Every session of the person ends, this one included; the bank
 * answers with a new session, which this tab carries on with (session.ts).
 */
export function ChangePassword() {
  usePageTitle('Change password');
  const session = useSession();
  const email = session.status === 'signedIn' ? session.user.email : undefined;
  const [currentPassword, setCurrentPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [confirmPassword, setConfirmPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Described>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (busy) return;
    const found = validateChangePassword({ currentPassword, newPassword, confirmPassword }, email);
    setErrors(found);
    setFailure(undefined);
    setDone(false);
    if (hasErrors(found)) return;
    setBusy(true);
    const result = await changePassword(currentPassword, newPassword);
    setBusy(false);
    if (result.data?.changePassword) {
      setCurrentPassword('');
      setNewPassword('');
      setConfirmPassword('');
      setDone(true);
      return;
    }
    const described = describeChangeFailure(result.error);
    const field = fieldFor(described, FIELDS);
    if (field === 'currentPassword') setCurrentPassword('');
    if (field) setErrors({ [field]: described.message });
    else setFailure(described);
  };

  return (
    <section className="narrow">
      {LIVE_NOTIFICATIONS && (
        <p className="crumbs">
          <Link href="/notifications/settings">← Notification settings</Link>
        </p>
      )}
      <h1 tabIndex={-1}>Change password</h1>
      <p>Changing your password signs you out everywhere else you are signed in.</p>
      {done && <Notice tone="success">{PASSWORD_CHANGED_MESSAGE}</Notice>}
      <form onSubmit={submit} noValidate>
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={currentPassword}
          onChange={(e) => setCurrentPassword(e.target.value)}
          error={errors.currentPassword}
          required
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          hint="At least 10 characters, with a letter and a digit, and not your e-mail address."
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
        <SubmitButton busy={busy} busyText="Changing…">
          Change password
        </SubmitButton>
      </form>
    </section>
  );
}
