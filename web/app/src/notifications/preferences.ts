/**
 * The notification settings form, pure: from the API's preferences to the form's fields and
 * back, and the checks the notifications service makes (E.164 phone number for SMS, a whole
 * threshold of 0 to 1,000,000,000 units), so mistakes are named next to the field.
 *
 * A new phone number is not used at once: the bank texts a six-digit code to it and keeps it as
 * `pendingPhoneNumber` until `confirmPhoneNumber` gets the code; texts keep going to the
 * confirmed `phoneNumber` meanwhile. Each number saved texts a new code (at most five a day), so
 * the form only sends the number when it changed.
 */
import type { ErrorCode } from '../lib/errors';
import type { FieldErrors } from '../lib/validation';

export interface Preferences {
  inApp: boolean;
  email: boolean;
  sms: boolean;
  phoneNumber?: string | null;
  pendingPhoneNumber?: string | null;
  alertThreshold: number;
}

export interface PreferencesForm {
  inApp: boolean;
  email: boolean;
  sms: boolean;
  phoneNumber: string;
  alertThreshold: string;
}

/** What `updateNotificationPreferences` gets; a field left out stays as it is. */
export interface PreferencesInput {
  inApp: boolean;
  email: boolean;
  sms?: boolean;
  phoneNumber?: string;
  alertThreshold: number;
}

export const MAX_THRESHOLD = 1_000_000_000;
/** How many codes the bank texts a person in a day, and how long one works. */
export const CODES_PER_DAY = 5;
export const CODE_MINUTES = 10;

/** The number the form shows: the one waiting for its code, else the confirmed one. */
export const shownPhone = (preferences: Preferences) => preferences.pendingPhoneNumber ?? preferences.phoneNumber ?? '';

export function toForm(preferences: Preferences): PreferencesForm {
  return {
    inApp: preferences.inApp,
    email: preferences.email,
    sms: preferences.sms,
    phoneNumber: shownPhone(preferences),
    alertThreshold: String(preferences.alertThreshold),
  };
}

/** "+44 1234-567890" → "+441234567890" (what the service stores). */
export const compactPhone = (text: string) => text.trim().replace(/[\s-]/g, '');

/**
 * Checks the form against the preferences it started from (`saved`, as the bank last said).
 * The phone number is sent only when it differs from the number shown at the start: saving the
 * number waiting for its code again would text another code. `sms` is sent only when it changed:
 * the bank turns texts on only for a confirmed number or a new one sent with it.
 */
export function validatePreferences(
  form: PreferencesForm,
  saved: Preferences,
): { errors: FieldErrors; input?: PreferencesInput } {
  const errors: FieldErrors = {};
  const phone = compactPhone(form.phoneNumber);
  const phoneChanged = phone !== shownPhone(saved);
  const smsChanged = form.sms !== saved.sms;
  if (phone && !/^\+\d{8,15}$/.test(phone)) {
    errors.phoneNumber = 'Enter the number with + and the country code, 8 to 15 digits, e.g. +441234567890.';
  } else if (form.sms && !phone) {
    errors.phoneNumber = 'Text messages need a phone number.';
  } else if (form.sms && smsChanged && !phoneChanged && !saved.phoneNumber && saved.pendingPhoneNumber) {
    errors.phoneNumber = `Texts start once the number is confirmed: enter the code we texted to ${saved.pendingPhoneNumber} first.`;
  }
  const threshold = form.alertThreshold.trim() === '' ? '0' : form.alertThreshold.trim();
  if (!/^\d+$/.test(threshold)) errors.alertThreshold = 'Enter a whole number, 0 or more.';
  else if (Number(threshold) > MAX_THRESHOLD) errors.alertThreshold = 'The threshold is at most 1,000,000,000.';
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    input: {
      inApp: form.inApp,
      email: form.email,
      ...(smsChanged ? { sms: form.sms } : {}),
      ...(phoneChanged ? { phoneNumber: phone } : {}),
      alertThreshold: Number(threshold),
    },
  };
}

/** Whether saving `input` texted a code: a number that is not the confirmed one came back pending. */
export function textedCode(input: Pick<PreferencesInput, 'phoneNumber'>, result: Preferences): boolean {
  return Boolean(input.phoneNumber && input.phoneNumber !== result.phoneNumber && result.pendingPhoneNumber === input.phoneNumber);
}

/** Where texts go and which number waits for its code, in words: the two are never confused. */
export function phoneStatus(preferences: Preferences): { confirmed: string; pending?: string } {
  const { phoneNumber, pendingPhoneNumber } = preferences;
  const confirmed = phoneNumber
    ? `Texts go to ${phoneNumber}.`
    : pendingPhoneNumber
      ? 'No phone number is confirmed yet, so no texts are sent.'
      : 'You have no phone number with us, so no texts are sent.';
  return pendingPhoneNumber ? { confirmed, pending: `Waiting for the code sent to ${pendingPhoneNumber}.` } : { confirmed };
}

/** "123 456" → "123456"; anything but six digits is named before it is sent. */
export function validateCode(text: string): { code?: string; error?: string } {
  const code = text.replace(/[\s-]/g, '');
  if (!code) return { error: 'Enter the code we texted to you.' };
  if (!/^\d{6}$/.test(code)) return { error: 'The code is the six digits we texted to you.' };
  return { code };
}

/** The bank's daily limit on codes, in words (the app-wide LIMIT_EXCEEDED message is about accounts). */
export const CODE_LIMIT_MESSAGE = `We have texted you ${CODES_PER_DAY} codes today, the most we send in a day. Enter the latest code, or try again tomorrow.`;

export const PREFERENCES_ERRORS: Partial<Record<ErrorCode, string>> = {
  LIMIT_EXCEEDED: CODE_LIMIT_MESSAGE,
  NOT_FOUND: 'We could not find your settings. Reload the page and try again.',
};
