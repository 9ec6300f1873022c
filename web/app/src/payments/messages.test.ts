import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../lib/errors';
import {
  IN_FLIGHT,
  PAYMENT_CONTEXTS,
  PAYMENT_STATUS_LABELS,
  STANDING_ORDER_STATUS_LABELS,
  cancelQuestion,
  cancelledText,
  describePaymentError,
  everyText,
  isInFlight,
  paymentFailureText,
  paymentStatusNote,
  periodText,
  runsText,
  scheduleText,
  sendErrorField,
  setUpText,
  standingOrderStatusText,
} from './messages';
import { END_BEFORE_START, START_IN_PAST, START_TOO_FAR } from './rules';

const failure = (code: string, message = 'something was wrong', extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

const STATUSES = ['PENDING', 'QUEUED', 'SUBMITTED', 'COMPLETED', 'FAILED', 'RETURNING', 'RETURNED'];

describe('describePaymentError', () => {
  it('has a clear, distinct message for every error code wherever a payment operation can fail', () => {
    for (const context of PAYMENT_CONTEXTS) {
      const messages = new Set<string>();
      for (const code of ERROR_CODES) {
        const described = describePaymentError(failure(code), context, 'EUR');
        expect(described.code).toBe(code);
        expect(described.message.length, `${context} ${code}`).toBeGreaterThan(10);
        expect(described.message, `${context} ${code}`).not.toMatch(/_/);
        expect(described.message, `${context} ${code}`).toMatch(/[.!]$/);
        messages.add(described.message);
      }
      expect(messages.size, context).toBe(ERROR_CODES.length);
    }
  });

  it('says what each refusal of a payment means', () => {
    expect(describePaymentError(failure('INSUFFICIENT_FUNDS'), 'send', 'EUR').message).toBe(
      'There is not enough money in the account to send this. Send less, or from another account.',
    );
    expect(describePaymentError(failure('ACCOUNT_NOT_ACTIVE'), 'send').message).toMatch(/frozen or closed/);
    expect(describePaymentError(failure('IDEMPOTENCY_KEY_REUSED'), 'send').message).toMatch(/already sent with different details/);
    expect(describePaymentError(failure('NOT_FOUND', 'account not found'), 'send').message).toMatch(/account among yours/);
    expect(describePaymentError(failure('LIMIT_EXCEEDED'), 'addPayee').message).toMatch(/^You have 100 payees/);
  });

  it('tells a payee removed elsewhere from a missing account', () => {
    const described = describePaymentError(failure('NOT_FOUND', 'payee not found'), 'send');
    expect(described.message).toBe('That payee is no longer saved. Choose another, or enter the name and IBAN.');
    expect(sendErrorField(described, 'payee')).toBe('payeeId');
    // Typing someone new by then: the message goes above the button, not next to a hidden field.
    expect(sendErrorField(described, 'new')).toBeUndefined();
    expect(sendErrorField(describePaymentError(failure('NOT_FOUND', 'account not found'), 'send'), 'new')).toBe('fromAccountId');
  });

  it('puts the service’s complaints about a field in words, next to that field', () => {
    // The service quotes the input in its own notation: people get a sentence instead.
    const iban = describePaymentError(failure('BAD_USER_INPUT', '"DE00 1" is not an IBAN', { field: 'creditorIban' }), 'send');
    expect(iban.message).toBe('This is not a valid IBAN. Check it for a mistyped or missing character.');
    expect(sendErrorField(iban, 'new')).toBe('creditorIban');
    expect(sendErrorField(iban, 'payee')).toBeUndefined();
    expect(describePaymentError(failure('BAD_USER_INPUT', '"X" has wrong check digits', { field: 'iban' }), 'addPayee').message).toMatch(
      /^This is not a valid IBAN/,
    );
    const name = describePaymentError(failure('BAD_USER_INPUT', 'a name is 1 to 70 characters', { field: 'name' }), 'addPayee');
    expect(name).toMatchObject({ field: 'name', message: 'Enter a name of 1 to 70 characters, without line breaks.' });
    const amount = describePaymentError(failure('BAD_USER_INPUT', 'the amount must be positive', { field: 'amount' }), 'send');
    expect(amount.message).toBe('The amount must be positive.');
    expect(sendErrorField(amount, 'payee')).toBe('amount');
    expect(describePaymentError(failure('BAD_USER_INPUT', 'x', { field: 'remittance' }), 'send').message).toMatch(/140 characters/);
    expect(describePaymentError(failure('BAD_USER_INPUT', 'x', { field: 'payeeId' }), 'send').message).toMatch(/saved payee/);
  });

  it('keeps the form-wide errors off the fields', () => {
    expect(sendErrorField(describePaymentError(failure('INSUFFICIENT_FUNDS'), 'send'), 'payee')).toBeUndefined();
    expect(sendErrorField(describePaymentError(failure('ACCOUNT_NOT_ACTIVE'), 'send'), 'payee')).toBe('fromAccountId');
    expect(sendErrorField(describePaymentError(failure('CURRENCY_MISMATCH'), 'send'), 'new')).toBe('fromAccountId');
    const key = describePaymentError(failure('BAD_USER_INPUT', 'x', { field: 'idempotencyKey' }), 'send');
    expect(sendErrorField(key, 'payee')).toBeUndefined();
    expect(sendErrorField(key, 'new')).toBeUndefined();
  });

  it('retries (same key) only when the outcome is unknown', () => {
    expect(describePaymentError(failure('INTERNAL'), 'send').retryable).toBe(true);
    expect(describePaymentError({ networkError: new Error('offline') }, 'send').retryable).toBe(true);
    expect(describePaymentError(failure('INSUFFICIENT_FUNDS'), 'send').retryable).toBe(false);
  });
});

describe('payment statuses in plain words', () => {
  it('has a label for every status, and none in capitals', () => {
    for (const status of STATUSES) {
      expect(PAYMENT_STATUS_LABELS[status], status).toBeTruthy();
      expect(PAYMENT_STATUS_LABELS[status]).not.toMatch(/^[A-Z_]+$/);
    }
    expect(PAYMENT_STATUS_LABELS.QUEUED).toBe('Sent');
    expect(PAYMENT_STATUS_LABELS.COMPLETED).toBe('Completed');
    expect(PAYMENT_STATUS_LABELS.RETURNED).toBe('Returned — money back in your account');
  });

  it('knows which statuses move on by themselves', () => {
    expect(STATUSES.filter(isInFlight)).toEqual(['PENDING', 'QUEUED', 'SUBMITTED', 'RETURNING']);
    expect(IN_FLIGHT.has('COMPLETED')).toBe(false);
  });

  it('explains where each payment stands, with the other bank’s reason when it came back', () => {
    for (const status of STATUSES) expect(paymentStatusNote({ status }), status).toMatch(/\.$/);
    expect(paymentStatusNote({ status: 'COMPLETED' })).toBe('The other bank has the money.');
    expect(paymentStatusNote({ status: 'RETURNED', failureCode: 'REJECTED_BY_GATEWAY', failureReason: 'creditor account closed' })).toBe(
      'The other bank did not take the payment: creditor account closed. The money is back in your account.',
    );
    expect(paymentStatusNote({ status: 'RETURNING', failureReason: null })).toBe(
      'The other bank did not take the payment. The money is on its way back to your account.',
    );
    expect(paymentStatusNote({ status: 'FAILED', failureCode: 'INSUFFICIENT_FUNDS' })).toBe(
      'There was not enough money in the account. No money left your account.',
    );
  });

  it('says why a payment failed for every code the ledger gives, and for codes it does not know', () => {
    for (const code of ['INSUFFICIENT_FUNDS', 'ACCOUNT_NOT_ACTIVE', 'CURRENCY_MISMATCH', 'LIMIT_EXCEEDED', 'NOT_FOUND', 'FORBIDDEN']) {
      expect(paymentFailureText(code), code).toMatch(/^[A-Z][^_]+\. No money left your account\.$/);
    }
    expect(paymentFailureText('SOMETHING_NEW')).toBe('The payment could not be sent; no money left your account.');
    expect(paymentFailureText(null)).toBe('The payment could not be sent; no money left your account.');
  });
});

describe('standing orders’ errors', () => {
  it('has words for every refusal of a standing order', () => {
    expect(PAYMENT_CONTEXTS).toEqual(expect.arrayContaining(['setUpStandingOrder', 'cancelStandingOrder']));
    expect(describePaymentError(failure('LIMIT_EXCEEDED'), 'setUpStandingOrder').message).toBe(
      'You have 20 active standing orders, the most you can have. Cancel one you no longer need first.',
    );
    expect(describePaymentError(failure('IDEMPOTENCY_KEY_REUSED'), 'setUpStandingOrder').message).toMatch(/already set up with different details/);
    expect(describePaymentError(failure('NOT_FOUND', 'account not found'), 'setUpStandingOrder').message).toMatch(/account among yours/);
    expect(describePaymentError(failure('UNAUTHENTICATED'), 'setUpStandingOrder').message).toMatch(/sign in again/);
    expect(describePaymentError(failure('INTERNAL'), 'setUpStandingOrder').retryable).toBe(true);
    expect(describePaymentError(failure('NOT_FOUND', 'standing order not found'), 'cancelStandingOrder').message).toMatch(/no longer there/);
  });

  it('puts the service’s complaints about the dates in words, next to the field', () => {
    const past = describePaymentError(failure('BAD_USER_INPUT', 'the first payment cannot be in the past', { field: 'startOn' }), 'setUpStandingOrder');
    expect(past.message).toBe(START_IN_PAST);
    expect(sendErrorField(past, 'new', true)).toBe('startOn');
    const ahead = describePaymentError(failure('BAD_USER_INPUT', 'the first payment is at most a year ahead', { field: 'startOn' }), 'setUpStandingOrder');
    expect(ahead.message).toBe(START_TOO_FAR);
    expect(sendErrorField(ahead, 'payee', true)).toBe('startOn');
    // A complaint it does not know yet keeps the service's own words.
    expect(describePaymentError(failure('BAD_USER_INPUT', 'not a date', { field: 'startOn' }), 'setUpStandingOrder').message).toBe('Not a date.');
    const end = describePaymentError(failure('BAD_USER_INPUT', 'the last payment cannot come before the first', { field: 'endOn' }), 'setUpStandingOrder');
    expect(end.message).toBe(END_BEFORE_START);
    expect(sendErrorField(end, 'new', true)).toBe('endOn');
    // The dates' fields are only shown when the form sets up a standing order.
    expect(sendErrorField(end, 'new')).toBeUndefined();
  });

  it('puts the payment’s complaints next to the same fields as a payment’s', () => {
    for (const field of ['amount', 'creditorName', 'creditorIban', 'remittance']) {
      const described = describePaymentError(failure('BAD_USER_INPUT', 'x', { field }), 'setUpStandingOrder', 'EUR');
      expect(described.message, field).toMatch(/\.$/);
      expect(sendErrorField(described, 'new', true), field).toBe(field);
    }
    const payee = describePaymentError(failure('BAD_USER_INPUT', 'x', { field: 'payeeId' }), 'setUpStandingOrder');
    expect(payee.message).toMatch(/saved payee/);
    expect(sendErrorField(payee, 'payee', true)).toBe('payeeId');
    const gone = describePaymentError(failure('NOT_FOUND', 'payee not found'), 'setUpStandingOrder');
    expect(gone).toMatchObject({ field: 'payeeId', message: expect.stringMatching(/no longer saved/) });
    expect(sendErrorField(describePaymentError(failure('LIMIT_EXCEEDED'), 'setUpStandingOrder'), 'new', true)).toBeUndefined();
    expect(describePaymentError(failure('BAD_USER_INPUT', 'x', { field: 'idempotencyKey' }), 'setUpStandingOrder').message).toMatch(
      /setting up this standing order/,
    );
  });

  it('does not pass the service’s words on when cancelling', () => {
    expect(describePaymentError(failure('BAD_USER_INPUT', 'bad id', { field: 'id' }), 'cancelStandingOrder').message).toBe(
      'We could not cancel this standing order. Reload the page and try again.',
    );
  });
});

describe('standing orders in plain words', () => {
  const order = {
    creditorName: 'Landlord',
    amount: { amount: '30.00', currency: 'EUR' },
    frequency: 'MONTHLY',
    startOn: '2026-11-25',
    endOn: null,
    nextRunOn: '2026-12-25',
    lastRunOn: '2026-11-25',
    runs: 1,
    status: 'ACTIVE',
  };

  it('says when it pays: the first date’s day of the month, or of the week', () => {
    expect(scheduleText(order)).toBe('Monthly on the 25th');
    expect(scheduleText({ frequency: 'MONTHLY', startOn: '2026-12-01' })).toBe('Monthly on the 1st');
    expect(scheduleText({ frequency: 'MONTHLY', startOn: '2027-01-31' })).toBe('Monthly on the 31st (the last day in shorter months)');
    expect(scheduleText({ frequency: 'WEEKLY', startOn: '2026-11-25' })).toBe('Weekly on Wednesdays');
    expect(scheduleText({ frequency: 'WEEKLY', startOn: 'soon' })).toBe('Weekly');
    expect(everyText('WEEKLY')).toBe('every week');
    expect(everyText('MONTHLY')).toBe('every month');
  });

  it('says where it stands: the next date while it pays, else cancelled or ended', () => {
    expect(standingOrderStatusText(order)).toBe('Next: 25 Dec 2026');
    expect(standingOrderStatusText({ status: 'CANCELLED', nextRunOn: null })).toBe('Cancelled');
    expect(standingOrderStatusText({ status: 'ENDED', nextRunOn: null })).toBe('Ended');
    expect(standingOrderStatusText({ status: 'ACTIVE', nextRunOn: null })).toBe('Active');
    for (const status of ['ACTIVE', 'CANCELLED', 'ENDED']) expect(STANDING_ORDER_STATUS_LABELS[status], status).toBeTruthy();
  });

  it('counts what it paid and says for how long it runs', () => {
    expect(runsText(0)).toBe('No payment made yet');
    expect(runsText(1)).toBe('1 payment made');
    expect(runsText(12)).toBe('12 payments made');
    expect(periodText(order)).toBe('First payment 25 Nov 2026 · until you cancel it');
    expect(periodText({ startOn: '2026-11-25', endOn: '2027-11-25' })).toBe('First payment 25 Nov 2026 · last 25 Nov 2027');
  });

  it('confirms setting one up and cancelling it', () => {
    expect(setUpText(order)).toBe('Standing order to Landlord set up: 30.00 EUR every month from 25 Nov 2026.');
    expect(setUpText({ ...order, frequency: 'WEEKLY', amount: { amount: '1500', currency: 'JPY' } })).toBe(
      'Standing order to Landlord set up: 1,500 JPY every week from 25 Nov 2026.',
    );
    expect(cancelQuestion(order)).toBe('Stop paying Landlord 30.00 EUR every month?');
    expect(cancelledText({ ...order, status: 'CANCELLED' })).toBe('Standing order to Landlord cancelled.');
    expect(cancelledText({ ...order, status: 'ENDED' })).toBe('The standing order to Landlord had already ended.');
  });
});
