import { describe, expect, it } from 'vitest';
import {
  END_BEFORE_START,
  START_IN_PAST,
  START_TOO_FAR,
  endOnProblem,
  nameProblem,
  payeeWithIban,
  payingAccounts,
  remittanceProblem,
  startOnProblem,
  validatePayee,
  validatePayment,
  validateStandingOrder,
  type PaymentForm,
  type StandingOrderForm,
} from './rules';

const accounts = [
  { id: 'eur', currency: 'EUR', status: 'ACTIVE' },
  { id: 'jpy', currency: 'JPY', status: 'ACTIVE' },
  { id: 'frozen', currency: 'EUR', status: 'FROZEN' },
  { id: 'closed', currency: 'EUR', status: 'CLOSED' },
];
const payees = [
  { id: 'p1', name: 'Acme GmbH', iban: 'DE89370400440532013000' },
  { id: 'p2', name: 'Ada Lovelace', iban: 'GB82WEST12345698765432' },
];

const form = (over: Partial<PaymentForm> = {}): PaymentForm => ({
  fromAccountId: 'eur',
  recipient: 'payee',
  payeeId: 'p1',
  creditorName: '',
  creditorIban: '',
  amount: '10',
  remittance: '',
  ...over,
});

describe('names and references, bounded like the service', () => {
  it('takes 1 to 70 characters of name, trimmed, without control characters', () => {
    expect(nameProblem('  Ada Lovelace ')).toBeUndefined();
    expect(nameProblem('')).toBe('Enter the name of the person or business.');
    expect(nameProblem('   ')).toBe('Enter the name of the person or business.');
    expect(nameProblem('x'.repeat(70))).toBeUndefined();
    expect(nameProblem('x'.repeat(71))).toBe('Keep the name to 70 characters.');
    expect(nameProblem('😀'.repeat(70))).toBeUndefined(); // characters, not UTF-16 units
    expect(nameProblem('Ada\nLovelace')).toMatch(/line breaks/);
  });

  it('takes up to 140 characters of reference, or none', () => {
    expect(remittanceProblem('')).toBeUndefined();
    expect(remittanceProblem('   ')).toBeUndefined();
    expect(remittanceProblem('x'.repeat(140))).toBeUndefined();
    expect(remittanceProblem('x'.repeat(141))).toBe('Keep the reference to 140 characters (it has 141).');
    expect(remittanceProblem('a\u0007b')).toMatch(/control characters/);
  });
});

describe('validatePayee', () => {
  it('sends the name trimmed and the IBAN without spaces', () => {
    expect(validatePayee({ name: ' Acme GmbH ', iban: 'de89 3704 0044 0532 0130 00' })).toEqual({
      errors: {},
      input: { name: 'Acme GmbH', iban: 'DE89370400440532013000' },
    });
  });

  it('says what is wrong with each field', () => {
    const checked = validatePayee({ name: '', iban: 'DE89 3704 0044 0532 0130 01' });
    expect(checked.input).toBeUndefined();
    expect(checked.errors.name).toBe('Enter the name of the person or business.');
    expect(checked.errors.iban).toMatch(/check digits do not match/);
  });

  it('finds the saved payee with the same IBAN however it is typed (saving renames it)', () => {
    expect(payeeWithIban(payees, 'gb82 west 1234 5698 7654 32')?.id).toBe('p2');
    expect(payeeWithIban(payees, 'NL91 ABNA 0417 1643 00')).toBeUndefined();
    expect(payeeWithIban(payees, '')).toBeUndefined();
  });
});

describe('validatePayment', () => {
  it('pays from active accounts only', () => {
    expect(payingAccounts(accounts).map((a) => a.id)).toEqual(['eur', 'jpy']);
    expect(validatePayment(form({ fromAccountId: 'frozen' }), accounts, payees).errors.fromAccountId).toBe(
      'Choose the account the money leaves from.',
    );
    expect(validatePayment(form({ fromAccountId: '' }), [accounts[2]], payees).errors.fromAccountId).toMatch(/need an active account/);
  });

  it('sends a saved payee by id', () => {
    expect(validatePayment(form({ remittance: ' Invoice 7 ' }), accounts, payees)).toEqual({
      errors: {},
      currency: 'EUR',
      input: { fromAccountId: 'eur', payeeId: 'p1', amount: '10.00', remittance: 'Invoice 7' },
    });
    expect(validatePayment(form({ payeeId: 'gone' }), accounts, payees).errors.payeeId).toBe('Choose who to pay.');
  });

  it('sends someone new by name and IBAN, checked like a payee', () => {
    const checked = validatePayment(
      form({ recipient: 'new', payeeId: 'p1', creditorName: ' Bob ', creditorIban: 'nl91 abna 0417 1643 00' }),
      accounts,
      payees,
    );
    expect(checked.input).toEqual({
      fromAccountId: 'eur',
      creditorName: 'Bob',
      creditorIban: 'NL91ABNA0417164300',
      amount: '10.00',
      remittance: null,
    });
    const wrong = validatePayment(form({ recipient: 'new', creditorName: '', creditorIban: 'NL91 ABNA 0417 1643 01' }), accounts, payees);
    expect(wrong.input).toBeUndefined();
    expect(wrong.errors.creditorName).toBeTruthy();
    expect(wrong.errors.creditorIban).toMatch(/check digits/);
  });

  it('checks the amount against the chosen account’s currency', () => {
    expect(validatePayment(form({ amount: '12.345' }), accounts, payees).errors.amount).toBe('EUR amounts have at most 2 decimals.');
    expect(validatePayment(form({ fromAccountId: 'jpy', amount: '1.5' }), accounts, payees).errors.amount).toBe('JPY amounts have no decimals.');
    expect(validatePayment(form({ fromAccountId: 'jpy', amount: '1 500' }), accounts, payees).input?.amount).toBe('1500');
    expect(validatePayment(form({ amount: '' }), accounts, payees).errors.amount).toBe('Enter an amount.');
    expect(validatePayment(form({ amount: '0' }), accounts, payees).input).toBeUndefined();
    expect(validatePayment(form({ amount: '-5' }), accounts, payees).errors.amount).toMatch(/more than zero/);
  });

  it('refuses a reference the service would refuse', () => {
    const checked = validatePayment(form({ remittance: 'x'.repeat(141) }), accounts, payees);
    expect(checked.input).toBeUndefined();
    expect(checked.errors.remittance).toMatch(/140 characters/);
  });
});

describe('standing orders: the first date from today (UTC) to a year ahead, the last not before it', () => {
  const today = '2026-11-25';
  const order = (over: Partial<StandingOrderForm> = {}): StandingOrderForm => ({
    ...form({ recipient: 'new', creditorName: 'Landlord', creditorIban: 'DE89 3704 0044 0532 0130 00', amount: '30' }),
    frequency: 'MONTHLY',
    startOn: today,
    endOn: '',
    ...over,
  });

  it('takes today, and refuses yesterday', () => {
    expect(startOnProblem('2026-11-25', today)).toBeUndefined();
    expect(startOnProblem('2026-11-24', today)).toBe(START_IN_PAST);
    expect(startOnProblem('2025-12-31', today)).toBe(START_IN_PAST);
  });

  it('takes up to 366 days ahead, and refuses beyond', () => {
    expect(startOnProblem('2026-11-26', today)).toBeUndefined();
    expect(startOnProblem('2027-11-26', today)).toBeUndefined(); // 366 days
    expect(startOnProblem('2027-11-27', today)).toBe(START_TOO_FAR);
    expect(startOnProblem('2030-01-01', today)).toBe(START_TOO_FAR);
  });

  it('asks for a real date', () => {
    expect(startOnProblem('', today)).toBe('Enter the date of the first payment.');
    expect(startOnProblem('2026-02-30', today)).toMatch(/year-month-day/);
    expect(startOnProblem('tomorrow', today)).toMatch(/year-month-day/);
  });

  it('takes no last date, or one on or after the first, and refuses one before it', () => {
    expect(endOnProblem('', '2026-12-01')).toBeUndefined();
    expect(endOnProblem('2026-12-01', '2026-12-01')).toBeUndefined();
    expect(endOnProblem('2027-06-01', '2026-12-01')).toBeUndefined();
    expect(endOnProblem('2026-11-30', '2026-12-01')).toBe(END_BEFORE_START);
    expect(endOnProblem('someday', '2026-12-01')).toMatch(/year-month-day, or leave it empty/);
  });

  it('sends the payment as validatePayment does, with how often and the dates', () => {
    expect(validateStandingOrder(order(), accounts, payees, today)).toEqual({
      errors: {},
      currency: 'EUR',
      input: {
        fromAccountId: 'eur',
        creditorName: 'Landlord',
        creditorIban: 'DE89370400440532013000',
        amount: '30.00',
        remittance: null,
        frequency: 'MONTHLY',
        startOn: '2026-11-25',
        endOn: null,
      },
    });
    const weekly = validateStandingOrder(
      order({ recipient: 'payee', payeeId: 'p2', frequency: 'WEEKLY', startOn: '2026-12-02', endOn: '2027-03-31' }),
      accounts,
      payees,
      today,
    );
    expect(weekly.input).toMatchObject({ payeeId: 'p2', frequency: 'WEEKLY', startOn: '2026-12-02', endOn: '2027-03-31' });
    expect(weekly.input).not.toHaveProperty('creditorIban');
  });

  it('says what is wrong with each field, the payment’s and the dates', () => {
    const wrong = validateStandingOrder(
      order({ amount: '12.345', creditorIban: 'DE89 3704 0044 0532 0130 01', frequency: 'DAILY', startOn: '2026-11-24', endOn: '2026-11-01' }),
      accounts,
      payees,
      today,
    );
    expect(wrong.input).toBeUndefined();
    expect(wrong.errors).toMatchObject({
      amount: 'EUR amounts have at most 2 decimals.',
      creditorIban: expect.stringMatching(/check digits/),
      frequency: expect.stringMatching(/every week or every month/),
      startOn: START_IN_PAST,
      endOn: END_BEFORE_START,
    });
    expect(validateStandingOrder(order({ fromAccountId: 'frozen' }), accounts, payees, today).errors.fromAccountId).toBeTruthy();
    expect(validateStandingOrder(order({ startOn: '2027-12-01' }), accounts, payees, today).errors).toEqual({ startOn: START_TOO_FAR });
  });
});
