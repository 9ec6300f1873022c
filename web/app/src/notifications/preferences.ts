/**
 * The notification settings form, pure: from the API's preferences to the form's fields and
 * back, and the checks the notifications service makes (E.164 phone number for SMS, a whole
 * threshold of 0 to 1,000,000,000 units), so mistakes are named next to the field.
 */
import type { FieldErrors } from '../lib/validation';

export interface Preferences {
  inApp: boolean;
  email: boolean;
  sms: boolean;
  phoneNumber?: string | null;
  alertThreshold: number;
}

export interface PreferencesForm {
  inApp: boolean;
  email: boolean;
  sms: boolean;
  phoneNumber: string;
  alertThreshold: string;
}

export interface PreferencesInput {
  inApp: boolean;
  email: boolean;
  sms: boolean;
  phoneNumber: string;
  alertThreshold: number;
}

export const MAX_THRESHOLD = 1_000_000_000;

export function toForm(preferences: Preferences): PreferencesForm {
  return {
    inApp: preferences.inApp,
    email: preferences.email,
    sms: preferences.sms,
    phoneNumber: preferences.phoneNumber ?? '',
    alertThreshold: String(preferences.alertThreshold),
  };
}

/** "+44 1234-567890" → "+441234567890" (what the service stores). */
export const compactPhone = (text: string) => text.trim().replace(/[\s-]/g, '');

export function validatePreferences(form: PreferencesForm): { errors: FieldErrors; input?: PreferencesInput } {
  const errors: FieldErrors = {};
  const phone = compactPhone(form.phoneNumber);
  if (phone && !/^\+\d{8,15}$/.test(phone)) {
    errors.phoneNumber = 'Enter the number with + and the country code, 8 to 15 digits, e.g. +441234567890.';
  } else if (form.sms && !phone) {
    errors.phoneNumber = 'Text messages need a phone number.';
  }
  const threshold = form.alertThreshold.trim() === '' ? '0' : form.alertThreshold.trim();
  if (!/^\d+$/.test(threshold)) errors.alertThreshold = 'Enter a whole number, 0 or more.';
  else if (Number(threshold) > MAX_THRESHOLD) errors.alertThreshold = 'The threshold is at most 1,000,000,000.';
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    input: { inApp: form.inApp, email: form.email, sms: form.sms, phoneNumber: phone, alertThreshold: Number(threshold) },
  };
}
