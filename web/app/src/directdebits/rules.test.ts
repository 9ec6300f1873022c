import { describe, expect, it } from 'vitest';
import { mod97 } from '../lib/mod97';
import {
  REFERENCE_TAKEN,
  creditorIdProblem,
  creditorNameProblem,
  formatCreditorId,
  isValidCreditorId,
  mandateAccounts,
  mandateWithReference,
  normalizeCreditorId,
  parseLimit,
  referenceProblem,
  validateMandate,
  type MandateForm,
} from './rules';

/** A creditor identifier with its check digits, the way creditors are given them. */
function withCheckDigits(country: string, businessCode: string, nationalId: string): string {
  const check = 98 - mod97(`${nationalId}${country}00`);
  return `${country}${String(check).padStart(2, '0')}${businessCode}${nationalId}`;
}

const accounts = [
  { id: 'eur', currency: 'EUR', status: 'ACTIVE' },
  { id: 'jpy', currency: 'JPY', status: 'ACTIVE' },
  { id: 'frozen', currency: 'EUR', status: 'FROZEN' },
  { id: 'closed', currency: 'EUR', status: 'CLOSED' },
];

const form = (over: Partial<MandateForm> = {}): MandateForm => ({
  accountId: 'eur',
  creditorName: 'Stadtwerke',
  creditorId: 'DE98ZZZ09999999999',
  reference: 'SW-2026/001',
  maxAmount: '',
  ...over,
});

describe('SEPA creditor identifiers (ISO 7064 mod 97-10), as the payments service checks them', () => {
  it('accepts a valid identifier', () => {
    expect(creditorIdProblem('DE98ZZZ09999999999')).toBeUndefined();
    expect(isValidCreditorId(withCheckDigits('FR', 'ZZZ', '123456'))).toBe(true);
    expect(isValidCreditorId(withCheckDigits('NL', 'ABC', 'A1B2C3D4'))).toBe(true);
  });

  it('drops spaces and upper-cases letters (ASCII only, like the service)', () => {
    expect(normalizeCreditorId(' de98 zzz 0999\t9999 999 ')).toBe('DE98ZZZ09999999999');
    expect(isValidCreditorId('de98 zzz 0999 9999 999')).toBe(true);
    expect(normalizeCreditorId('ßx')).toBe('ßX');
  });

  it('refuses wrong check digits and a mistyped character', () => {
    expect(creditorIdProblem('DE97ZZZ09999999999')).toMatch(/check digits do not match/);
    expect(creditorIdProblem('DE98ZZZ09999999990')).toMatch(/check digits do not match/);
    expect(creditorIdProblem('FR98ZZZ09999999999')).toMatch(/check digits do not match/);
  });

  it('ignores the business code in the check', () => {
    expect(creditorIdProblem('DE98ABC09999999999')).toBeUndefined();
    expect(creditorIdProblem('DE98123 09999999999')).toBeUndefined();
  });

  it('bounds the length to 8 to 35 characters', () => {
    expect(creditorIdProblem('DE98ZZZ')).toMatch(/too short/);
    expect(isValidCreditorId(withCheckDigits('DE', 'ZZZ', '1'))).toBe(true); // 8
    expect(isValidCreditorId(withCheckDigits('DE', 'ZZZ', '1'.repeat(28)))).toBe(true); // 35
    expect(creditorIdProblem(withCheckDigits('DE', 'ZZZ', '1'.repeat(29)))).toMatch(/too long/); // 36
  });

  it('says what is wrong in words', () => {
    expect(creditorIdProblem('')).toBe('Enter the creditor identifier.');
    expect(creditorIdProblem('   ')).toBe('Enter the creditor identifier.');
    expect(creditorIdProblem('DE98-ZZZ-09999999999')).toMatch(/only letters and digits/);
    expect(creditorIdProblem('ÄE98ZZZ09999999999')).toMatch(/only letters and digits/);
    expect(creditorIdProblem('not a creditor id')).toMatch(/^A creditor identifier starts with two letters for the country and two check digits/);
    expect(creditorIdProblem('9898ZZZ09999999999')).toMatch(/starts with two letters/);
  });

  it('prints identifiers in groups of four', () => {
    expect(formatCreditorId('DE98ZZZ09999999999')).toBe('DE98 ZZZ0 9999 9999 99');
    expect(formatCreditorId('de98 zzz 0999 9999 999')).toBe('DE98 ZZZ0 9999 9999 99');
  });
});

describe('names, references and limits, bounded like the service', () => {
  it('takes 1 to 70 characters of name, trimmed, without control characters', () => {
    expect(creditorNameProblem('  Stadtwerke ')).toBeUndefined();
    expect(creditorNameProblem('')).toBe('Enter the creditor’s name.');
    expect(creditorNameProblem('   ')).toBe('Enter the creditor’s name.');
    expect(creditorNameProblem('x'.repeat(70))).toBeUndefined();
    expect(creditorNameProblem('x'.repeat(71))).toBe('Keep the name to 70 characters.');
    expect(creditorNameProblem('ü'.repeat(70))).toBeUndefined();
    expect(creditorNameProblem('😀'.repeat(70))).toBeUndefined(); // characters, not UTF-16 units
    expect(creditorNameProblem('Stadt\nwerke')).toMatch(/line breaks/);
  });

  it('takes 1 to 35 characters of the SEPA set as a mandate reference, trimmed', () => {
    expect(referenceProblem(' SW-2026/001 ')).toBeUndefined();
    expect(referenceProblem("Ref (A) 1.2, x: y? 'z' +")).toBeUndefined();
    expect(referenceProblem('x'.repeat(35))).toBeUndefined();
    expect(referenceProblem('x'.repeat(36))).toBe('A mandate reference has at most 35 characters (this one has 36).');
    expect(referenceProblem('')).toBe('Enter the mandate reference the creditor gave you.');
    expect(referenceProblem('   ')).toBe('Enter the mandate reference the creditor gave you.');
    expect(referenceProblem('M_1')).toMatch(/only letters, digits, spaces and/);
    expect(referenceProblem('Mandat ü')).toMatch(/only letters, digits, spaces and/);
    expect(referenceProblem('M&1')).toMatch(/only letters, digits, spaces and/);
  });

  it('takes no limit, or a positive amount in the account’s currency', () => {
    expect(parseLimit('', 'EUR')).toEqual({ ok: true, amount: null });
    expect(parseLimit('  ', 'EUR')).toEqual({ ok: true, amount: null });
    expect(parseLimit('40', 'EUR')).toEqual({ ok: true, amount: '40.00' });
    expect(parseLimit('12,5', 'EUR')).toEqual({ ok: true, amount: '12.50' });
    expect(parseLimit('1 500', 'JPY')).toEqual({ ok: true, amount: '1500' });
    expect(parseLimit('12.345', 'EUR')).toEqual({ ok: false, error: 'EUR amounts have at most 2 decimals.' });
    expect(parseLimit('1.5', 'JPY')).toEqual({ ok: false, error: 'JPY amounts have no decimals.' });
    expect(parseLimit('0', 'EUR')).toEqual({ ok: false, error: 'The limit must be more than zero.' });
    expect(parseLimit('-5', 'EUR')).toEqual({ ok: false, error: 'The limit must be more than zero.' });
    expect(parseLimit('lots', 'EUR')).toEqual({ ok: false, error: 'Enter the limit as a number, for example 12.50.' });
  });
});

describe('validateMandate', () => {
  it('sends the details as the service stores them', () => {
    expect(
      validateMandate(form({ creditorName: ' Stadtwerke ', creditorId: 'de98 zzz 0999 9999 999', reference: ' SW-1 ', maxAmount: '40' }), accounts),
    ).toEqual({
      errors: {},
      currency: 'EUR',
      input: { accountId: 'eur', creditorName: 'Stadtwerke', creditorId: 'DE98ZZZ09999999999', reference: 'SW-1', maxAmount: '40.00' },
    });
    expect(validateMandate(form(), accounts).input?.maxAmount).toBeNull();
  });

  it('gives mandates for active accounts only', () => {
    expect(mandateAccounts(accounts).map((a) => a.id)).toEqual(['eur', 'jpy']);
    expect(validateMandate(form({ accountId: 'frozen' }), accounts).errors.accountId).toBe('Choose the account the creditor collects from.');
    expect(validateMandate(form({ accountId: '' }), [accounts[2]]).errors.accountId).toMatch(/need an active account/);
  });

  it('says what is wrong with each field', () => {
    const checked = validateMandate(form({ creditorName: '', creditorId: 'DE97ZZZ09999999999', reference: 'M_1', maxAmount: '1.5' }), accounts);
    expect(checked.input).toBeUndefined();
    expect(checked.errors.creditorName).toBe('Enter the creditor’s name.');
    expect(checked.errors.creditorId).toMatch(/check digits do not match/);
    expect(checked.errors.reference).toMatch(/only letters, digits/);
    expect(checked.errors.maxAmount).toBeUndefined(); // 1.50 EUR
    expect(validateMandate(form({ accountId: 'jpy', maxAmount: '1.5' }), accounts).errors.maxAmount).toBe('JPY amounts have no decimals.');
  });

  it('knows a creditor’s reference names one mandate: the same one again is fine, another use is not', () => {
    const mine = [
      {
        creditorId: 'DE98ZZZ09999999999',
        creditorName: 'Stadtwerke',
        reference: 'SW-1',
        status: 'ACTIVE',
        maxAmount: { amount: '40.00', currency: 'EUR' },
        account: { id: 'eur' },
      },
    ];
    expect(mandateWithReference(mine, 'de98 zzz 0999 9999 999', ' SW-1 ')).toBe(mine[0]);
    expect(mandateWithReference(mine, 'DE98ZZZ09999999999', 'SW-2')).toBeUndefined();
    expect(validateMandate(form({ reference: 'SW-1', maxAmount: '40' }), accounts, mine).input).toBeTruthy();
    expect(validateMandate(form({ reference: 'SW-1', maxAmount: '50' }), accounts, mine).errors).toEqual({ reference: REFERENCE_TAKEN });
    expect(validateMandate(form({ reference: 'SW-1', maxAmount: '' }), accounts, mine).errors.reference).toBe(
      'This creditor already has a mandate with this reference.',
    );
    expect(validateMandate(form({ reference: 'SW-1', maxAmount: '40', accountId: 'jpy' }), accounts, mine).errors.reference).toBe(REFERENCE_TAKEN);
    const revoked = [{ ...mine[0], status: 'REVOKED' }];
    expect(validateMandate(form({ reference: 'SW-1', maxAmount: '40' }), accounts, revoked).errors.reference).toBe(REFERENCE_TAKEN);
    expect(validateMandate(form({ reference: 'SW-2' }), accounts, mine).input?.reference).toBe('SW-2');
  });
});
