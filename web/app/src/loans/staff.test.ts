import { describe, expect, it, vi } from 'vitest';
import { appendById } from './pages';
import {
  actionsFor,
  afterAction,
  doneMessage,
  runStaffAction,
  validateDecision,
  type Outcome,
  type StaffLoanLike,
  type StaffMutations,
} from './staff';

const loan = (over: Partial<StaffLoanLike> = {}): StaffLoanLike => ({
  id: 'l1',
  status: 'PENDING',
  principal: { amount: '1000.00', currency: 'EUR' },
  borrower: { fullName: 'Dora Example' },
  ...over,
});

const failure = (code: string, message = 'no', extra: Record<string, unknown> = {}) => ({
  graphQLErrors: [{ message, extensions: { code, ...extra } }],
});

/** The API, faked: each mutation answers what the test says and records its call. */
function api(answers: Partial<Record<'approve' | 'reject' | 'disburse', Outcome<StaffLoanLike>>> = {}) {
  const mutations: StaffMutations<StaffLoanLike> = {
    approve: vi.fn(async () => answers.approve ?? { loan: loan({ status: 'APPROVED' }) }),
    reject: vi.fn(async () => answers.reject ?? { loan: loan({ status: 'REJECTED' }) }),
    disburse: vi.fn(async () => answers.disburse ?? { loan: loan({ status: 'ACTIVE' }) }),
  };
  return mutations;
}

describe('actionsFor', () => {
  it('offers approve and reject for pending applications, pay out for approved loans, nothing else', () => {
    expect(actionsFor('PENDING')).toEqual(['approve', 'reject']);
    expect(actionsFor('APPROVED')).toEqual(['disburse']);
    for (const status of ['REJECTED', 'ACTIVE', 'PAID_OFF']) expect(actionsFor(status)).toEqual([]);
  });
});

describe('validateDecision', () => {
  it('needs a reason to reject, not to approve', () => {
    expect(validateDecision('reject', '  ')).toEqual({ reason: 'Say why the application is rejected; the customer sees it.' });
    expect(validateDecision('reject', 'income too low')).toEqual({});
    expect(validateDecision('approve', '')).toEqual({});
    expect(validateDecision('disburse', '')).toEqual({});
  });

  it('keeps notes and reasons to 500 characters', () => {
    expect(validateDecision('reject', 'x'.repeat(500))).toEqual({});
    expect(validateDecision('reject', 'x'.repeat(501))).toEqual({ reason: 'Keep it to 500 characters.' });
    expect(validateDecision('approve', 'x'.repeat(501))).toEqual({ note: 'Keep it to 500 characters.' });
  });
});

describe('runStaffAction', () => {
  it('approves with the trimmed note, or none', async () => {
    const mutations = api();
    const result = await runStaffAction(mutations, 'approve', loan(), '  ok  ');
    expect(mutations.approve).toHaveBeenCalledExactlyOnceWith('l1', 'ok');
    expect(result).toEqual({ ok: true, loan: loan({ status: 'APPROVED' }), message: 'Approved 1,000.00 EUR for Dora Example.' });
    await runStaffAction(mutations, 'approve', loan());
    expect(mutations.approve).toHaveBeenLastCalledWith('l1', null);
  });

  it('does not send a rejection without a reason', async () => {
    const mutations = api();
    const result = await runStaffAction(mutations, 'reject', loan(), ' ');
    expect(result).toEqual({
      ok: false,
      errors: { reason: 'Say why the application is rejected; the customer sees it.' },
      sent: false,
    });
    expect(mutations.reject).not.toHaveBeenCalled();
  });

  it('rejects with the reason', async () => {
    const mutations = api();
    const result = await runStaffAction(mutations, 'reject', loan(), ' income too low ');
    expect(mutations.reject).toHaveBeenCalledExactlyOnceWith('l1', 'income too low');
    expect(result).toMatchObject({ ok: true, message: 'Rejected the application of Dora Example for 1,000.00 EUR.' });
  });

  it('pays out approved loans only', async () => {
    const mutations = api();
    expect(await runStaffAction(mutations, 'disburse', loan({ status: 'APPROVED' }))).toMatchObject({
      ok: true,
      message: 'Paid 1,000.00 EUR out to Dora Example.',
    });
    expect(mutations.disburse).toHaveBeenCalledExactlyOnceWith('l1');
    const early = await runStaffAction(mutations, 'disburse', loan({ status: 'PENDING' }));
    expect(early).toMatchObject({ ok: false, sent: false, message: 'This loan has moved on; reload the queue.' });
    expect(mutations.disburse).toHaveBeenCalledTimes(1);
  });

  it('says why a payout failed', async () => {
    const mutations = api({ disburse: { error: failure('INSUFFICIENT_FUNDS') } });
    expect(await runStaffAction(mutations, 'disburse', loan({ status: 'APPROVED' }))).toEqual({
      ok: false,
      errors: {},
      message: 'The bank’s loan funding account does not have enough money to pay this loan out.',
      sent: true,
    });
    const frozen = api({ disburse: { error: failure('ACCOUNT_NOT_ACTIVE') } });
    expect((await runStaffAction(frozen, 'disburse', loan({ status: 'APPROVED' }))).ok).toBe(false);
  });

  it('shows a decision another member of staff made first, and the API’s complaint about the reason next to it', async () => {
    const decided = api({ approve: { error: failure('BAD_USER_INPUT', 'the loan is REJECTED, not PENDING', { field: 'id' }) } });
    expect(await runStaffAction(decided, 'approve', loan())).toMatchObject({
      ok: false,
      message: 'The loan is declined, not waiting for a decision.',
    });
    const long = api({ reject: { error: failure('BAD_USER_INPUT', 'at most 500 characters', { field: 'reason' }) } });
    expect(await runStaffAction(long, 'reject', loan(), 'why')).toEqual({
      ok: false,
      errors: { reason: 'At most 500 characters.' },
      sent: true,
    });
    const forbidden = api({ approve: { error: failure('FORBIDDEN') } });
    expect(await runStaffAction(forbidden, 'approve', loan())).toMatchObject({
      message: 'Only tellers and administrators can decide on loan applications.',
    });
  });
});

describe('the queue after an action', () => {
  const a = { id: 'a', status: 'PENDING' };
  const b = { id: 'b', status: 'PENDING' };
  const c = { id: 'c', status: 'APPROVED' };

  it('moves an approved loan to the top of the approved list', () => {
    expect(afterAction({ pending: [a, b], approved: [c] }, { id: 'b', status: 'APPROVED' })).toEqual({
      pending: [a],
      approved: [{ id: 'b', status: 'APPROVED' }, c],
    });
  });

  it('drops rejected and paid-out loans', () => {
    expect(afterAction({ pending: [a, b], approved: [c] }, { id: 'a', status: 'REJECTED' })).toEqual({ pending: [b], approved: [c] });
    expect(afterAction({ pending: [a, b], approved: [c] }, { id: 'c', status: 'ACTIVE' })).toEqual({ pending: [a, b], approved: [] });
  });

  it('leaves a still-pending loan where it was', () => {
    const updated = { id: 'a', status: 'PENDING', note: 'x' };
    expect(afterAction({ pending: [a, b], approved: [] }, updated)).toEqual({ pending: [updated, b], approved: [] });
  });

  it('appends pages without repeating a loan', () => {
    expect(appendById([a, b], [b, c]).map((l) => l.id)).toEqual(['a', 'b', 'c']);
  });

  it('names what was done', () => {
    expect(doneMessage('disburse', loan({ principal: { amount: '1500', currency: 'JPY' } }))).toBe('Paid 1,500 JPY out to Dora Example.');
  });
});
