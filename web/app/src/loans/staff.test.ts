import { describe, expect, it, vi } from 'vitest';
import { appendById } from './pages';
import {
  actionLabel,
  actionsFor,
  afterAction,
  approvalRows,
  doneMessage,
  fourEyes,
  runStaffAction,
  validateDecision,
  waitingText,
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

const ME = 'staff-me';
const OTHER = 'staff-other';
const approval = (step: string, staffId: string, at = '2026-12-07T10:00:00Z') => ({ step, staffId, at });
/** A pending application one member of staff has approved. */
const approvedOnce = (by: string) => loan({ awaitingSecondStaff: true, approvals: [approval('APPROVAL', by)] });
/** An approved loan whose payout one member of staff has asked for. */
const payoutAsked = (by: string) =>
  loan({
    status: 'APPROVED',
    awaitingSecondStaff: true,
    approvals: [approval('APPROVAL', OTHER), approval('APPROVAL', 'staff-third'), approval('PAYOUT', by)],
  });

describe('actionsFor', () => {
  it('offers approve and reject for pending applications, pay out for approved loans, nothing else', () => {
    expect(actionsFor(loan({ status: 'PENDING' }), ME)).toEqual(['approve', 'reject']);
    expect(actionsFor(loan({ status: 'APPROVED' }), ME)).toEqual(['disburse']);
    for (const status of ['REJECTED', 'ACTIVE', 'PAID_OFF']) expect(actionsFor(loan({ status }), ME)).toEqual([]);
  });

  it('lets a second member of staff complete a step the first one started', () => {
    expect(actionsFor(approvedOnce(OTHER), ME)).toEqual(['approve', 'reject']);
    expect(actionsFor(payoutAsked(OTHER), ME)).toEqual(['disburse']);
  });

  it('does not offer the first member of staff a step that would change nothing', () => {
    expect(actionsFor(approvedOnce(ME), ME)).toEqual(['reject']);
    expect(actionsFor(payoutAsked(ME), ME)).toEqual([]);
  });

  it('offers nothing on one’s own loan', () => {
    expect(actionsFor(loan({ borrower: { id: ME, fullName: 'Me' } }), ME)).toEqual([]);
    expect(actionsFor(loan({ borrower: { id: OTHER, fullName: 'Dora Example' } }), ME)).toEqual(['approve', 'reject']);
  });
});

describe('four eyes', () => {
  it('finds the first half of the step the loan waits on, and whether it was the signed-in member of staff', () => {
    expect(fourEyes(loan(), ME)).toEqual({ step: 'APPROVAL', mine: false });
    expect(fourEyes(approvedOnce(ME), ME)).toEqual({ step: 'APPROVAL', first: approval('APPROVAL', ME), mine: true });
    expect(fourEyes(approvedOnce(OTHER), ME)).toMatchObject({ step: 'APPROVAL', mine: false });
    expect(fourEyes(payoutAsked(ME), ME)).toEqual({ step: 'PAYOUT', first: approval('PAYOUT', ME), mine: true });
    expect(fourEyes(payoutAsked(ME), undefined)?.mine).toBe(false);
    expect(fourEyes(loan({ status: 'ACTIVE' }), ME)).toBeUndefined();
  });

  it('says clearly that a step waits for a second member of staff', () => {
    expect(waitingText(loan(), ME)).toBeUndefined();
    expect(waitingText(approvedOnce(OTHER), ME)).toBe('Approved by 1 of 2 — a second member of staff must approve.');
    expect(waitingText(approvedOnce(ME), ME)).toBe(
      'You approved this application (1 of 2). It waits for a second member of staff to approve it.',
    );
    expect(waitingText(payoutAsked(OTHER), ME)).toBe('Payout asked for — a second member of staff must confirm.');
    expect(waitingText(payoutAsked(ME), ME)).toBe(
      'You asked for this payout. It waits for a second member of staff to confirm it; no money has moved yet.',
    );
    expect(waitingText(loan({ status: 'APPROVED', approvals: [approval('APPROVAL', ME), approval('APPROVAL', OTHER)] }), ME)).toBeUndefined();
  });

  it('names the second member of staff’s buttons for what they do', () => {
    expect(actionLabel('approve', loan())).toBe('Approve');
    expect(actionLabel('approve', approvedOnce(OTHER))).toBe('Approve as second member of staff');
    expect(actionLabel('disburse', loan({ status: 'APPROVED' }))).toBe('Pay out 1,000.00 EUR');
    expect(actionLabel('disburse', payoutAsked(OTHER))).toBe('Confirm payout of 1,000.00 EUR');
  });

  it('lists the approvals in words, the signed-in member of staff as you', () => {
    expect(approvalRows(undefined, ME)).toEqual([]);
    expect(
      approvalRows(
        [
          approval('APPROVAL', OTHER, 't1'),
          approval('APPROVAL', ME, 't2'),
          approval('PAYOUT', ME, 't3'),
          approval('PAYOUT', OTHER, 't4'),
        ],
        ME,
      ),
    ).toEqual([
      { what: 'Approved (1 of 2)', who: OTHER, at: 't1' },
      { what: 'Approved (2 of 2)', who: 'You', at: 't2' },
      { what: 'Asked for the payout', who: 'You', at: 't3' },
      { what: 'Confirmed the payout', who: OTHER, at: 't4' },
    ]);
    expect(approvalRows([approval('APPROVAL', ME)], undefined)).toEqual([{ what: 'Approved (1 of 2)', who: ME, at: '2026-12-07T10:00:00Z' }]);
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

  it('says when the first approval or payout request waits for a second member of staff', async () => {
    const first = api({ approve: { loan: approvedOnce(ME) } });
    expect(await runStaffAction(first, 'approve', loan(), '', ME)).toMatchObject({
      ok: true,
      message: 'Approved 1,000.00 EUR for Dora Example (1 of 2): a second member of staff must approve it too.',
    });
    const second = api({ approve: { loan: loan({ status: 'APPROVED' }) } });
    expect(await runStaffAction(second, 'approve', approvedOnce(OTHER), '', ME)).toMatchObject({
      ok: true,
      message: 'Approved 1,000.00 EUR for Dora Example.',
    });
    const asked = api({ disburse: { loan: payoutAsked(ME) } });
    expect(await runStaffAction(asked, 'disburse', loan({ status: 'APPROVED' }), '', ME)).toMatchObject({
      ok: true,
      message: 'Asked to pay 1,000.00 EUR out to Dora Example: a second member of staff must confirm the payout.',
    });
    const confirmed = api();
    expect(await runStaffAction(confirmed, 'disburse', payoutAsked(OTHER), '', ME)).toMatchObject({
      ok: true,
      message: 'Paid 1,000.00 EUR out to Dora Example.',
    });
  });

  it('does not send a step the same member of staff already did, nor one on their own loan', async () => {
    const mutations = api();
    expect(await runStaffAction(mutations, 'approve', approvedOnce(ME), '', ME)).toEqual({
      ok: false,
      errors: {},
      message: 'You have done this step already; it waits for a second member of staff.',
      sent: false,
    });
    expect(await runStaffAction(mutations, 'disburse', payoutAsked(ME), '', ME)).toMatchObject({ ok: false, sent: false });
    expect(await runStaffAction(mutations, 'approve', loan({ borrower: { id: ME, fullName: 'Me' } }), '', ME)).toMatchObject({
      ok: false,
      sent: false,
      message: 'This is your own loan: a colleague must decide on it and pay it out.',
    });
    expect(mutations.approve).not.toHaveBeenCalled();
    expect(mutations.disburse).not.toHaveBeenCalled();
    // The first member of staff may still reject.
    expect(await runStaffAction(mutations, 'reject', approvedOnce(ME), 'on second thoughts', ME)).toMatchObject({ ok: true });
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

  it('leaves an approved loan whose payout was asked for where it was, as it now stands', () => {
    const d = { id: 'd', status: 'APPROVED' };
    const asked = { id: 'c', status: 'APPROVED', awaitingSecondStaff: true };
    expect(afterAction({ pending: [a], approved: [d, c] }, asked)).toEqual({ pending: [a], approved: [d, asked] });
  });

  it('appends pages without repeating a loan', () => {
    expect(appendById([a, b], [b, c]).map((l) => l.id)).toEqual(['a', 'b', 'c']);
  });

  it('names what was done', () => {
    expect(doneMessage('disburse', loan({ principal: { amount: '1500', currency: 'JPY' } }))).toBe('Paid 1,500 JPY out to Dora Example.');
  });
});
