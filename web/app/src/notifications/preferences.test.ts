import { describe, expect, it } from 'vitest';
import { toForm, validatePreferences } from './preferences';

const form = toForm({ inApp: true, email: false, sms: false, phoneNumber: null, alertThreshold: 0 });

describe('notification settings', () => {
  it('starts from the saved preferences', () => {
    expect(form).toEqual({ inApp: true, email: false, sms: false, phoneNumber: '', alertThreshold: '0' });
  });

  it('sends every field, the phone number compacted and the threshold as a number', () => {
    expect(validatePreferences({ ...form, sms: true, phoneNumber: ' +44 1234-567890 ', alertThreshold: '50' })).toEqual({
      errors: {},
      input: { inApp: true, email: false, sms: true, phoneNumber: '+441234567890', alertThreshold: 50 },
    });
  });

  it('sends an empty phone number to remove it, and an empty threshold as 0', () => {
    expect(validatePreferences({ ...form, alertThreshold: ' ' }).input).toMatchObject({ phoneNumber: '', alertThreshold: 0 });
  });

  it('needs a phone number for SMS, in E.164', () => {
    expect(validatePreferences({ ...form, sms: true }).errors.phoneNumber).toBe('Text messages need a phone number.');
    expect(validatePreferences({ ...form, phoneNumber: '01234 567890' }).errors.phoneNumber).toMatch(/^Enter the number with \+/);
    expect(validatePreferences({ ...form, phoneNumber: '+1234567' }).errors.phoneNumber).toBeDefined();
    expect(validatePreferences({ ...form, phoneNumber: '+1234567890123456' }).errors.phoneNumber).toBeDefined();
  });

  it('takes a whole threshold of 0 to 1,000,000,000', () => {
    expect(validatePreferences({ ...form, alertThreshold: '-1' }).errors.alertThreshold).toBe('Enter a whole number, 0 or more.');
    expect(validatePreferences({ ...form, alertThreshold: '2.5' }).errors.alertThreshold).toBeDefined();
    expect(validatePreferences({ ...form, alertThreshold: '1000000001' }).errors.alertThreshold).toMatch(/at most/);
    expect(validatePreferences({ ...form, alertThreshold: '1000000000' }).input?.alertThreshold).toBe(1_000_000_000);
  });
});
