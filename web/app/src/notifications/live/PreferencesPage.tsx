import { useEffect, useId, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { describeError } from '../../lib/errors';
import { loadStatus, missing } from '../../lib/loadState';
import type { FieldErrors } from '../../lib/validation';
import { Link, usePageTitle } from '../../router';
import { Field, FormError, SubmitButton } from '../../ui/components';
import { QueryState } from '../../ui/QueryState';
import {
  CODE_MINUTES,
  PREFERENCES_ERRORS,
  phoneStatus,
  textedCode,
  toForm,
  validateCode,
  validatePreferences,
  type Preferences,
  type PreferencesForm,
} from '../preferences';
import { useToasts } from '../Toasts';
import { ConfirmPhoneNumberMutation, NotificationPreferencesQuery, UpdateNotificationPreferencesMutation } from './documents';

/**
 * How the person hears from the bank: in the app, by e-mail, by SMS, and from which amount. A new
 * phone number waits for the code the bank texts to it; until it is entered here, texts keep
 * going to the confirmed number (if any).
 */
export function PreferencesPage() {
  usePageTitle('Notification settings');
  const [{ data, fetching, error: loadError }, refetch] = useQuery({
    query: NotificationPreferencesQuery,
    requestPolicy: 'network-only',
  });
  // The preferences as the bank last answered them, and the form started from them.
  const [saved, setSaved] = useState<Preferences>();
  const [form, setForm] = useState<PreferencesForm>();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [{ fetching: saving }, update] = useMutation(UpdateNotificationPreferencesMutation);
  const toasts = useToasts();
  const me = data?.me;
  const loadFailure = loadError ? describeError(loadError) : missing('We could not load your settings.');

  useEffect(() => {
    if (me && !form) {
      setSaved(me.notificationPreferences);
      setForm(toForm(me.notificationPreferences));
    }
  }, [me, form]);

  const set = <K extends keyof PreferencesForm>(key: K, value: PreferencesForm[K]) =>
    setForm((current) => (current ? { ...current, [key]: value } : current));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!form || !saved || saving) return;
    const checked = validatePreferences(form, saved);
    setErrors(checked.errors);
    setError(undefined);
    if (!checked.input) return;
    const result = await update({ input: checked.input });
    const next = result.data?.updateNotificationPreferences;
    if (next) {
      setSaved(next);
      setForm(toForm(next));
      toasts.show(
        textedCode(checked.input, next)
          ? `Notification settings saved. We texted a code to ${next.pendingPhoneNumber}: enter it below to confirm the number.`
          : 'Notification settings saved.',
        'success',
      );
      return;
    }
    const described = describeError(result.error, PREFERENCES_ERRORS);
    if (described.code === 'BAD_USER_INPUT' && (described.field === 'phoneNumber' || described.field === 'alertThreshold')) {
      setErrors({ [described.field]: described.message });
    } else setError(described.message);
  };

  const status = saved ? phoneStatus(saved) : undefined;

  return (
    <section className="narrow">
      <p className="crumbs">
        <Link href="/notifications">← Notifications</Link>
      </p>
      <h1 tabIndex={-1}>Notification settings</h1>
      <QueryState
        status={loadStatus({ fetching: fetching || Boolean(me && !form), loaded: Boolean(form), failure: loadFailure })}
        failure={loadFailure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading your settings…"
      />
      {form && (
        <form onSubmit={submit} noValidate>
          <fieldset>
            <legend>Tell me about money moving on my accounts</legend>
            <label className="choice">
              <input type="checkbox" checked={form.inApp} onChange={(e) => set('inApp', e.target.checked)} />
              In the app (notification centre)
            </label>
            <label className="choice">
              <input type="checkbox" checked={form.email} onChange={(e) => set('email', e.target.checked)} />
              By e-mail{me?.email ? ` to ${me.email}` : ''}
            </label>
            <label className="choice">
              <input type="checkbox" checked={form.sms} onChange={(e) => set('sms', e.target.checked)} />
              By text message (SMS)
            </label>
          </fieldset>
          <Field
            label="Phone number for text messages"
            hint="With + and the country code, e.g. +441234567890. A new number gets a code by text to confirm it. Leave it empty to remove it."
            type="tel"
            autoComplete="tel"
            value={form.phoneNumber}
            onChange={(e) => set('phoneNumber', e.target.value)}
            error={errors.phoneNumber}
          />
          {status && (
            <div className="phone-status small" data-testid="phone-status">
              <p data-testid="phone-confirmed">{status.confirmed}</p>
              {status.pending && <p data-testid="phone-pending">{status.pending}</p>}
            </div>
          )}
          <Field
            label="Alert threshold"
            hint="Only tell me about amounts of at least this many whole units of the account's currency (0: every amount)."
            inputMode="numeric"
            value={form.alertThreshold}
            onChange={(e) => set('alertThreshold', e.target.value)}
            error={errors.alertThreshold}
          />
          <FormError message={error} />
          <SubmitButton busy={saving} busyText="Saving…">
            Save settings
          </SubmitButton>
        </form>
      )}
      {form && saved?.pendingPhoneNumber && (
        <ConfirmPhone key={saved.pendingPhoneNumber} preferences={saved} onChange={setSaved} />
      )}
      <p>
        <Link href="/settings/password">Change password</Link>
      </p>
    </section>
  );
}

/**
 * The code texted to the number waiting for it: entered here it confirms the number
 * (`confirmPhoneNumber`); Send a new code saves the number again, which texts another one.
 */
function ConfirmPhone({ preferences, onChange }: { preferences: Preferences; onChange: (next: Preferences) => void }) {
  const headingId = useId();
  const pending = preferences.pendingPhoneNumber ?? '';
  const [code, setCode] = useState('');
  const [codeError, setCodeError] = useState<string>();
  const [error, setError] = useState<string>();
  const [{ fetching: confirming }, confirmPhone] = useMutation(ConfirmPhoneNumberMutation);
  const [{ fetching: resending }, resend] = useMutation(UpdateNotificationPreferencesMutation);
  const toasts = useToasts();

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    if (confirming || resending) return;
    const checked = validateCode(code);
    setCodeError(checked.error);
    setError(undefined);
    if (!checked.code) return;
    const result = await confirmPhone({ code: checked.code });
    const next = result.data?.confirmPhoneNumber;
    if (next) {
      toasts.show(`Phone number confirmed: texts go to ${next.phoneNumber ?? pending}.`, 'success');
      onChange(next);
      return;
    }
    const described = describeError(result.error, PREFERENCES_ERRORS);
    if (described.code === 'BAD_USER_INPUT') setCodeError(described.message);
    else setError(described.message);
  };

  const sendNewCode = async () => {
    if (confirming || resending) return;
    setCodeError(undefined);
    setError(undefined);
    const result = await resend({ input: { phoneNumber: pending } });
    const next = result.data?.updateNotificationPreferences;
    if (next) {
      setCode('');
      toasts.show(`We texted a new code to ${pending}.`, 'success');
      onChange(next);
      return;
    }
    setError(describeError(result.error, PREFERENCES_ERRORS).message);
  };

  return (
    <section className="card confirm-phone" aria-labelledby={headingId} data-testid="confirm-phone">
      <h2 id={headingId}>Confirm your phone number</h2>
      <p>
        We texted a six-digit code to <strong>{pending}</strong>. It works for {CODE_MINUTES} minutes.{' '}
        {preferences.phoneNumber
          ? `Until you enter it, texts keep going to ${preferences.phoneNumber}.`
          : 'Texts start once you enter it.'}
      </p>
      <form onSubmit={confirm} noValidate>
        <Field
          label="Confirmation code"
          hint="The six digits in the text message."
          inputMode="numeric"
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={codeError}
        />
        <FormError message={error} />
        <div className="row">
          <SubmitButton busy={confirming} busyText="Confirming…">
            Confirm
          </SubmitButton>
          <button type="button" onClick={sendNewCode} disabled={resending} aria-disabled={resending}>
            {resending ? 'Sending…' : 'Send a new code'}
          </button>
        </div>
      </form>
    </section>
  );
}
