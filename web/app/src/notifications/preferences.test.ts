import { describe, expect, it } from 'vitest';
import {
  CODE_LIMIT_MESSAGE,
  PREFERENCES_ERRORS,
  phoneStatus,
  shownPhone,
  textedCode,
  toForm,
  validateCode,
  validatePreferences,
  type Preferences,
} from './preferences';
import { describeError } from '../lib/errors';

const saved: Preferences = { inApp: true, email: false, sms: false, phoneNumber: null, pendingPhoneNumber: null, alertThreshold: 0 };
const form = toForm(saved);
const confirmed: Preferences = { ...saved, sms: true, phoneNumber: '+441234567890' };
const waiting: Preferences = { ...saved, pendingPhoneNumber: '+447700900123' };
const both: Preferences = { ...confirmed, pendingPhoneNumber: '+447700900123' };

describe('notification settings', () => {
  it('starts from the saved preferences', () => {
    expect(form).toEqual({ inApp: true, email: false, sms: false, phoneNumber: '', alertThreshold: '0' });
  });

  it('shows the number waiting for its code, else the confirmed one', () => {
    expect(toForm(confirmed).phoneNumber).toBe('+441234567890');
    expect(toForm(waiting).phoneNumber).toBe('+447700900123');
    expect(toForm(both).phoneNumber).toBe('+447700900123');
    expect(shownPhone({ ...saved, phoneNumber: undefined, pendingPhoneNumber: undefined })).toBe('');
  });

  it('sends a new phone number compacted, a changed SMS choice and the threshold as a number', () => {
    expect(validatePreferences({ ...form, sms: true, phoneNumber: ' +44 1234-567890 ', alertThreshold: '50' }, saved)).toEqual({
      errors: {},
      input: { inApp: true, email: false, sms: true, phoneNumber: '+441234567890', alertThreshold: 50 },
    });
  });

  it('sends an empty phone number to remove it, and an empty threshold as 0', () => {
    expect(validatePreferences({ ...toForm(confirmed), sms: false, phoneNumber: '', alertThreshold: ' ' }, confirmed).input).toEqual({
      inApp: true,
      email: false,
      sms: false,
      phoneNumber: '',
      alertThreshold: 0,
    });
  });

  it('leaves out an unchanged number, so that saving texts no new code, and an unchanged SMS choice', () => {
    expect(validatePreferences(toForm(confirmed), confirmed).input).toEqual({ inApp: true, email: false, alertThreshold: 0 });
    expect(validatePreferences({ ...toForm(both), phoneNumber: '+44 7700 900123' }, both).input).toEqual({
      inApp: true,
      email: false,
      alertThreshold: 0,
    });
    // SMS stays on while the new number waits: the bank keeps texting the confirmed one.
    expect(validatePreferences({ ...toForm(waiting), sms: true }, { ...waiting, sms: true }).input).not.toHaveProperty('sms');
  });

  it('sends the confirmed number back when it replaces the one waiting (the bank texts no code for it)', () => {
    expect(validatePreferences({ ...toForm(both), phoneNumber: '+441234567890' }, both).input?.phoneNumber).toBe('+441234567890');
  });

  it('needs a phone number for SMS, in E.164', () => {
    expect(validatePreferences({ ...form, sms: true }, saved).errors.phoneNumber).toBe('Text messages need a phone number.');
    expect(validatePreferences({ ...form, phoneNumber: '01234 567890' }, saved).errors.phoneNumber).toMatch(/^Enter the number with \+/);
    expect(validatePreferences({ ...form, phoneNumber: '+1234567' }, saved).errors.phoneNumber).toBeDefined();
    expect(validatePreferences({ ...form, phoneNumber: '+1234567890123456' }, saved).errors.phoneNumber).toBeDefined();
  });

  it('turns texts on only with a confirmed number or a new one sent with it', () => {
    expect(validatePreferences({ ...toForm(waiting), sms: true }, waiting).errors.phoneNumber).toBe(
      'Texts start once the number is confirmed: enter the code we texted to +447700900123 first.',
    );
    expect(validatePreferences({ ...toForm(waiting), sms: true, phoneNumber: '+447700900456' }, waiting).input).toMatchObject({
      sms: true,
      phoneNumber: '+447700900456',
    });
    expect(validatePreferences({ ...toForm(both), sms: true }, { ...both, sms: false }).input).toMatchObject({ sms: true });
  });

  it('takes a whole threshold of 0 to 1,000,000,000', () => {
    expect(validatePreferences({ ...form, alertThreshold: '-1' }, saved).errors.alertThreshold).toBe('Enter a whole number, 0 or more.');
    expect(validatePreferences({ ...form, alertThreshold: '2.5' }, saved).errors.alertThreshold).toBeDefined();
    expect(validatePreferences({ ...form, alertThreshold: '1000000001' }, saved).errors.alertThreshold).toMatch(/at most/);
    expect(validatePreferences({ ...form, alertThreshold: '1000000000' }, saved).input?.alertThreshold).toBe(1_000_000_000);
  });
});

describe('confirming a phone number', () => {
  it('knows when saving texted a code: a new number came back waiting', () => {
    expect(textedCode({ phoneNumber: '+447700900123' }, waiting)).toBe(true);
    expect(textedCode({ phoneNumber: '+447700900123' }, both)).toBe(true);
    expect(textedCode({}, waiting)).toBe(false);
    expect(textedCode({ phoneNumber: '' }, saved)).toBe(false);
    expect(textedCode({ phoneNumber: '+441234567890' }, confirmed)).toBe(false);
  });

  it('says where texts go apart from the number waiting for its code', () => {
    expect(phoneStatus(confirmed)).toEqual({ confirmed: 'Texts go to +441234567890.' });
    expect(phoneStatus(both)).toEqual({
      confirmed: 'Texts go to +441234567890.',
      pending: 'Waiting for the code sent to +447700900123.',
    });
    expect(phoneStatus(waiting)).toEqual({
      confirmed: 'No phone number is confirmed yet, so no texts are sent.',
      pending: 'Waiting for the code sent to +447700900123.',
    });
    expect(phoneStatus(saved)).toEqual({ confirmed: 'You have no phone number with us, so no texts are sent.' });
  });

  it('takes six digits, spaces and dashes aside', () => {
    expect(validateCode('123456')).toEqual({ code: '123456' });
    expect(validateCode(' 123 456 ')).toEqual({ code: '123456' });
    expect(validateCode('123-456')).toEqual({ code: '123456' });
    expect(validateCode('012345')).toEqual({ code: '012345' });
  });

  it('names anything else before it is sent', () => {
    expect(validateCode('')).toEqual({ error: 'Enter the code we texted to you.' });
    expect(validateCode('   ')).toEqual({ error: 'Enter the code we texted to you.' });
    for (const wrong of ['12345', '1234567', '12345a', '１２３４５６', '12.345']) {
      expect(validateCode(wrong)).toEqual({ error: 'The code is the six digits we texted to you.' });
    }
  });

  it('shows the bank’s words for a wrong code, and its own for the daily limit on codes', () => {
    const refused = (message: string, code: string, field?: string) => ({
      graphQLErrors: [{ message, extensions: { code, ...(field ? { field } : {}) } }],
    });
    expect(describeError(refused('wrong code: 4 tries left', 'BAD_USER_INPUT', 'code'), PREFERENCES_ERRORS)).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'code',
      message: 'Wrong code: 4 tries left.',
    });
    expect(
      describeError(refused('at most 5 confirmation codes a day: try again tomorrow', 'LIMIT_EXCEEDED'), PREFERENCES_ERRORS),
    ).toMatchObject({ code: 'LIMIT_EXCEEDED', message: CODE_LIMIT_MESSAGE });
  });
});
