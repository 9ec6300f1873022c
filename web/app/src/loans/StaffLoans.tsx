import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useClient, useMutation } from 'urql';
import { useSession } from '../auth/session';
import type { LoanStatus, StaffLoanFieldsFragment } from '../gql/graphql';
import { formatMoment } from '../lib/dates';
import type { Described } from '../lib/errors';
import { loadStatus } from '../lib/loadState';
import { formatMoney } from '../lib/money';
import type { FieldErrors } from '../lib/validation';
import { useToasts } from '../notifications/Toasts';
import { usePageTitle } from '../router';
import { Field, FormError, Notice, StatusBadge, SubmitButton, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { ApproveLoanMutation, DisburseLoanMutation, LoanApplicationsQuery, RejectLoanMutation } from './documents';
import { LOAN_STATUS_LABELS, describeLoanError } from './messages';
import { productLabel, rateText } from './rules';
import { appendById } from './pages';
import {
  actionLabel,
  actionsFor,
  afterAction,
  approvalRows,
  fourEyes,
  isOwnLoan,
  runStaffAction,
  waitingText,
  type StaffAction,
  type StaffMutations,
  type StaffResult,
} from './staff';

const PAGE_SIZE = 20;

type Loan = StaffLoanFieldsFragment;

interface ListState {
  items: Loan[];
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  /** Why loading the list (or its next page) failed. */
  failure?: Described;
}

const START: ListState = { items: [], endCursor: null, hasNextPage: false, loading: true };

/**
 * Tellers and administrators: applications waiting for a decision, and approved loans to pay
 * out. Approving and paying out each need two members of staff: a card says when a step waits
 * for a second one, and lists who did what.
 */
export function StaffLoans() {
  usePageTitle('Loan applications');
  const client = useClient();
  const session = useSession();
  const me = session.status === 'signedIn' ? session.user.id : undefined;
  const [pending, setPending] = useState<ListState>(START);
  const [approved, setApproved] = useState<ListState>(START);
  const toasts = useToasts();
  const [, approve] = useMutation(ApproveLoanMutation);
  const [, reject] = useMutation(RejectLoanMutation);
  const [, disburse] = useMutation(DisburseLoanMutation);

  const load = useCallback(
    async (status: LoanStatus, after: string | null) => {
      const set = status === 'PENDING' ? setPending : setApproved;
      set((list) => ({ ...list, loading: true, failure: undefined }));
      const result = await client
        .query(LoanApplicationsQuery, { status, first: PAGE_SIZE, after }, { requestPolicy: 'network-only' })
        .toPromise();
      const connection = result.data?.loanApplications;
      if (!connection) {
        set((list) => ({ ...list, loading: false, failure: describeLoanError(result.error, 'load') }));
        return;
      }
      set((list) => ({
        items: appendById(after ? list.items : [], connection.edges.map((edge) => edge.node)),
        endCursor: connection.pageInfo.endCursor ?? null,
        hasNextPage: connection.pageInfo.hasNextPage,
        loading: false,
      }));
    },
    [client],
  );

  const reload = useCallback(() => {
    void load('PENDING', null);
    void load('APPROVED', null);
  }, [load]);
  useEffect(reload, [reload]);

  const mutations: StaffMutations<Loan> = useMemo(
    () => ({
      approve: async (id, note) => {
        const result = await approve({ id, note });
        return { loan: result.data?.approveLoan, error: result.error };
      },
      reject: async (id, reason) => {
        const result = await reject({ id, reason });
        return { loan: result.data?.rejectLoan, error: result.error };
      },
      disburse: async (id) => {
        const result = await disburse({ id });
        return { loan: result.data?.disburseLoan, error: result.error };
      },
    }),
    [approve, reject, disburse],
  );

  const act = async (action: StaffAction, loan: Loan, text: string) => {
    const result = await runStaffAction(mutations, action, loan, text, me);
    if (result.ok) {
      // Each list from its latest state: two cards may finish their actions at once.
      setPending((list) => ({ ...list, items: afterAction({ pending: list.items, approved: [] }, result.loan).pending }));
      setApproved((list) => ({ ...list, items: afterAction({ pending: [], approved: list.items }, result.loan).approved }));
      toasts.show(result.message, 'success');
    }
    return result;
  };

  return (
    <section>
      <div className="page-head">
        <h1 tabIndex={-1}>Loan applications</h1>
        <button type="button" onClick={reload} disabled={pending.loading || approved.loading}>
          Refresh
        </button>
      </div>
      <Queue
        id="pending-loans"
        title="Waiting for a decision"
        empty="No applications are waiting for a decision."
        list={pending}
        onMore={() => void load('PENDING', pending.endCursor)}
        onRetry={() => void load('PENDING', pending.items.length ? pending.endCursor : null)}
        act={act}
        me={me}
      />
      <Queue
        id="approved-loans"
        title="Approved, to be paid out"
        empty="No approved loans are waiting to be paid out."
        list={approved}
        onMore={() => void load('APPROVED', approved.endCursor)}
        onRetry={() => void load('APPROVED', approved.items.length ? approved.endCursor : null)}
        act={act}
        me={me}
      />
    </section>
  );
}

type Act = (action: StaffAction, loan: Loan, text: string) => Promise<StaffResult<Loan>>;

function Queue({
  id,
  title,
  empty,
  list,
  onMore,
  onRetry,
  act,
  me,
}: {
  id: string;
  title: string;
  empty: string;
  list: ListState;
  onMore: () => void;
  /** Loads again what failed: the first page, or the next one. */
  onRetry: () => void;
  act: Act;
  /** The signed-in member of staff's user id. */
  me?: string;
}) {
  const status = loadStatus({
    fetching: list.loading,
    loaded: !list.loading && !list.failure,
    empty: list.items.length === 0,
    failure: list.failure,
  });
  return (
    <section aria-labelledby={id} className="queue">
      <h2 id={id}>
        {title}
        {!list.loading && !list.failure && ` (${list.items.length}${list.hasNextPage ? '+' : ''})`}
      </h2>
      <ul className="queue-list">
        {list.items.map((loan) => (
          <li key={loan.id}>
            <Application loan={loan} act={act} me={me} />
          </li>
        ))}
        <QueryState item status={status} failure={list.failure} onRetry={onRetry} loading="Loading…" empty={empty} />
      </ul>
      {status === 'ready' && list.hasNextPage && list.endCursor && (
        <p className="more">
          <button type="button" onClick={onMore}>
            Load more
          </button>
        </p>
      )}
    </section>
  );
}

function Application({ loan, act, me }: { loan: Loan; act: Act; me?: string }) {
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState<StaffAction>();
  const headingId = `loan-${loan.id}`;
  const actions = actionsFor(loan, me);
  const waiting = waitingText(loan, me);
  const mine = fourEyes(loan, me)?.mine ?? false;
  const approvals = approvalRows(loan.approvals, me);

  const run = async (action: StaffAction, text = '') => {
    if (busy) return;
    setError(undefined);
    setErrors({});
    setBusy(action);
    const result = await act(action, loan, text);
    setBusy(undefined);
    if (!result.ok) {
      setErrors(result.errors);
      setError(result.message);
    }
  };

  const submitReject = (event: FormEvent) => {
    event.preventDefault();
    void run('reject', reason);
  };

  return (
    <article className="card application" aria-labelledby={headingId} data-testid="application">
      <div className="page-head">
        <h3 id={headingId}>
          {loan.borrower.fullName}: {formatMoney(loan.principal.amount, loan.principal.currency)}
        </h3>
        <StatusBadge status={loan.status} labels={LOAN_STATUS_LABELS} />
      </div>
      <dl className="facts">
        <div>
          <dt>Customer</dt>
          <dd>
            {loan.borrower.fullName} <span className="muted">({loan.borrower.email})</span>
          </dd>
        </div>
        <div>
          <dt>Loan</dt>
          <dd>
            {productLabel(loan.product)}, {rateText(loan.annualRate)}
          </dd>
        </div>
        <div>
          <dt>Term and payment</dt>
          <dd>
            {loan.termMonths} months at {formatMoney(loan.monthlyPayment.amount, loan.monthlyPayment.currency)}; {formatMoney(loan.totalDue.amount, loan.totalDue.currency)} in all
          </dd>
        </div>
        <div>
          <dt>Paid into</dt>
          <dd className="number">
            {formatAccountNumber(loan.account.number)}
            {loan.account.status !== 'ACTIVE' && <span className="muted"> ({loan.account.status.toLowerCase()})</span>}
          </dd>
        </div>
        <div>
          <dt>Applied</dt>
          <dd>{formatMoment(loan.appliedAt)}</dd>
        </div>
        {loan.purpose && (
          <div>
            <dt>Purpose</dt>
            <dd>{loan.purpose}</dd>
          </div>
        )}
      </dl>
      {approvals.length > 0 && (
        <>
          <h4 id={`${headingId}-approvals`}>Four eyes</h4>
          <ul className="approvals" aria-labelledby={`${headingId}-approvals`}>
            {approvals.map((row, index) => (
              <li key={index} data-testid="approval">
                {row.what} by <span className={row.who === 'You' ? undefined : 'number small'}>{row.who === 'You' ? 'you' : row.who}</span>,{' '}
                <time dateTime={row.at}>{formatMoment(row.at)}</time>
              </li>
            ))}
          </ul>
        </>
      )}
      {waiting && (
        <div data-testid="awaiting-second-staff" className={mine ? 'awaiting awaiting-mine' : 'awaiting'}>
          <Notice tone={mine ? 'info' : 'warning'}>{waiting}</Notice>
        </div>
      )}
      {isOwnLoan(loan, me) && <Notice>This is your own application: a colleague decides on it and pays it out.</Notice>}
      {actions.includes('approve') && !rejecting && (
        <div className="row">
          <button type="button" className="primary" onClick={() => void run('approve')} disabled={Boolean(busy)}>
            {busy === 'approve' ? 'Approving…' : actionLabel('approve', loan)}
          </button>
          <button type="button" className="danger" onClick={() => setRejecting(true)} disabled={Boolean(busy)}>
            Reject…
          </button>
        </div>
      )}
      {mine && actions.includes('reject') && !rejecting && (
        <div className="row">
          <button type="button" className="danger" onClick={() => setRejecting(true)} disabled={Boolean(busy)}>
            Reject…
          </button>
        </div>
      )}
      {actions.includes('reject') && rejecting && (
        <form onSubmit={submitReject} noValidate>
          <Field
            label="Reason for rejecting"
            hint="The customer sees it."
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            error={errors.reason}
            maxLength={500}
            autoFocus
          />
          <div className="row">
            <SubmitButton busy={busy === 'reject'} busyText="Rejecting…">
              Reject application
            </SubmitButton>
            <button type="button" onClick={() => setRejecting(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {actions.includes('disburse') && (
        <button type="button" className="primary" onClick={() => void run('disburse')} disabled={Boolean(busy)}>
          {busy === 'disburse' ? 'Paying out…' : actionLabel('disburse', loan)}
        </button>
      )}
      <FormError message={error} />
    </article>
  );
}
