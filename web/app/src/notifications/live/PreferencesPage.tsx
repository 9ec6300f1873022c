import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { describeError } from '../../lib/errors';
import { loadStatus, missing } from '../../lib/loadState';
import type { FieldErrors } from '../../lib/validation';
import { Link, usePageTitle } from '../../router';
import { Field, FormError, SubmitButton } from '../../ui/components';
import { QueryState } from '../../ui/QueryState';
import { toForm, validatePreferences, type PreferencesForm } from '../preferences';
import { useToasts } from '../Toasts';
import { NotificationPreferencesQuery, UpdateNotificationPreferencesMutation } from './documents';

/** How the person hears from the bank: in the app, by e-mail, by SMS, and from which amount. */
export function PreferencesPage() {
  usePageTitle('Notification settings');
  const [{ data, fetching, error: loadError }, refetch] = useQuery({
    query: NotificationPreferencesQuery,
    requestPolicy: 'network-only',
  });
  const [form, setForm] = useState<PreferencesForm>();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [{ fetching: saving }, update] = useMutation(UpdateNotificationPreferencesMutation);
  const toasts = useToasts();
  const me = data?.me;
  const loadFailure = loadError ? describeError(loadError) : missing('We could not load your settings.');

  useEffect(() => {
    if (me && !form) setForm(toForm(me.notificationPreferences));
  }, [me, form]);

  const set = <K extends keyof PreferencesForm>(key: K, value: PreferencesForm[K]) =>
    setForm((current) => (current ? { ...current, [key]: value } : current));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!form || saving) return;
    const checked = validatePreferences(form);
    setErrors(checked.errors);
    setError(undefined);
    if (!checked.input) return;
    const result = await update({ input: checked.input });
    const saved = result.data?.updateNotificationPreferences;
    if (saved) {
      setForm(toForm(saved));
      toasts.show('Notification settings saved.', 'success');
      return;
    }
    const described = describeError(result.error);
    if (described.code === 'BAD_USER_INPUT' && (described.field === 'phoneNumber' || described.field === 'alertThreshold')) {
      setErrors({ [described.field]: described.message });
    } else setError(described.message);
  };

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
            hint="With + and the country code, e.g. +441234567890. Leave it empty to remove it."
            type="tel"
            autoComplete="tel"
            value={form.phoneNumber}
            onChange={(e) => set('phoneNumber', e.target.value)}
            error={errors.phoneNumber}
          />
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
    </section>
  );
}
