import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import type { LoanQuery as LoanQueryResult, RepaymentFieldsFragment } from '../gql/graphql';
import { formatDate, formatMoment } from '../lib/dates';
import { balancesChanged, concerns, onBalancesChanged } from '../lib/events';
import { SubmissionKeys } from '../lib/idempotency';
import { exponentOf, formatMoney } from '../lib/money';
import { loadStatus } from '../lib/loadState';
import { hasErrors, type FieldErrors } from '../lib/validation';
import { rememberOwnTransaction } from '../notifications/alerts';
import { onNotificationEvent } from '../notifications/events';
import { useToasts } from '../notifications/Toasts';
import { Link, usePageTitle } from '../router';
import { Field, FormError, Notice, SelectField, StatusBadge, SubmitButton, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { MoreRepaymentsQuery, LoanQuery, RepayLoanMutation } from './documents';
import { loanTitle } from './LoansPage';
import {
  INSTALLMENT_STATUS_LABELS,
  LOAN_STATUS_LABELS,
  REPAYMENT_STATUS_LABELS,
  describeLoanError,
  loanStatusNote,
  repaymentFailureText,
} from './messages';
import { defaultRepaymentAccount, eligibleAccounts, installmentLeft, rateText, validateRepayment } from './rules';
import { appendById } from './pages';

type LoanDetails = LoanQueryResult['loan'];

const NOTE_TONE: Record<string, 'info' | 'success' | 'warning'> = {
  PENDING: 'info',
  APPROVED: 'success',
  REJECTED: 'warning',
  ACTIVE: 'info',
  PAID_OFF: 'success',
};

/** One loan: where it stands, its schedule, its repayments, and repaying it. */
export function LoanDetail({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: LoanQuery, variables: { id } });
  const loan = data?.loan;
  // Approved, paid out, repaid elsewhere: the borrower's loan notifications say it changed.
  useEffect(
    () =>
      onNotificationEvent((event) => {
        if (event.type === 'added' && event.notification.kind === 'LOAN') refetch({ requestPolicy: 'network-only' });
      }),
    [refetch],
  );
  const accountId = loan?.account.id;
  useEffect(
    () =>
      onBalancesChanged((change) => {
        if (accountId && concerns(change, accountId)) refetch({ requestPolicy: 'network-only' });
      }),
    [refetch, accountId],
  );
  usePageTitle(loan ? loanTitle(loan) : 'Loan');

  if (!loan) {
    const failure = describeLoanError(error ?? { graphQLErrors: [{ extensions: { code: 'NOT_FOUND' } }] }, 'load');
    return (
      <section>
        <h1 tabIndex={-1}>Loan</h1>
        <QueryState
          status={loadStatus({ fetching, loaded: false, failure })}
          failure={failure}
          onRetry={() => refetch({ requestPolicy: 'network-only' })}
          loading="Loading the loan…"
        />
        <p>
          <Link href="/loans">Back to your loans</Link>
        </p>
      </section>
    );
  }

  const paidOut = loan.status === 'ACTIVE' || loan.status === 'PAID_OFF';
  const { currency } = loan.principal;
  return (
    <section>
      <p className="crumbs">
        <Link href="/loans">← Your loans</Link>
      </p>
      <div className="page-head">
        <h1 tabIndex={-1}>{loanTitle(loan)}</h1>
        <span data-testid="loan-status">
          <StatusBadge status={loan.status} labels={LOAN_STATUS_LABELS} />
        </span>
      </div>
      <Notice tone={NOTE_TONE[loan.status] ?? 'info'}>{loanStatusNote(loan)}</Notice>
      <dl className="facts card">
        {paidOut && (
          <div>
            <dt>Still owed</dt>
            <dd className="balance" data-testid="outstanding">
              {formatMoney(loan.outstanding.amount, loan.outstanding.currency)}
            </dd>
          </div>
        )}
        <div>
          <dt>Monthly payment</dt>
          <dd>{formatMoney(loan.monthlyPayment.amount, loan.monthlyPayment.currency)}</dd>
        </div>
        <div>
          <dt>Total to repay</dt>
          <dd>{formatMoney(loan.totalDue.amount, loan.totalDue.currency)}</dd>
        </div>
        <div>
          <dt>Repaid so far</dt>
          <dd data-testid="repaid">{formatMoney(loan.repaid.amount, loan.repaid.currency)}</dd>
        </div>
        <div>
          <dt>Interest</dt>
          <dd>{rateText(loan.annualRate)}, fixed</dd>
        </div>
        <div>
          <dt>Term</dt>
          <dd>{loan.termMonths} months</dd>
        </div>
        <div>
          <dt>{paidOut ? 'Paid into' : 'To be paid into'}</dt>
          <dd>
            <Link href={`/accounts/${loan.account.id}`}>{accountName(loan.account)}</Link>{' '}
            <span className="muted small">{formatAccountNumber(loan.account.number)}</span>
            <div className="small" data-testid="account-balance">
              Balance {formatMoney(loan.account.balance.amount, loan.account.balance.currency)}
            </div>
          </dd>
        </div>
        <div>
          <dt>Applied</dt>
          <dd>{formatMoment(loan.appliedAt)}</dd>
        </div>
        {loan.disbursedOn && (
          <div>
            <dt>Paid out on</dt>
            <dd>{formatDate(loan.disbursedOn)}</dd>
          </div>
        )}
        {loan.purpose && (
          <div>
            <dt>Purpose</dt>
            <dd>{loan.purpose}</dd>
          </div>
        )}
        {loan.decisionReason && loan.status !== 'REJECTED' && (
          <div>
            <dt>Note from the bank</dt>
            <dd>{loan.decisionReason}</dd>
          </div>
        )}
      </dl>
      {loan.status === 'ACTIVE' && (
        <RepayForm
          loan={loan}
          onRepaid={() => refetch({ requestPolicy: 'network-only' })}
          key={`${loan.repaid.amount}`}
        />
      )}
      {loan.schedule.length > 0 && <Schedule loan={loan} />}
      {paidOut && (
        <section className="card" aria-labelledby="repayments">
          <h2 id="repayments">Repayments</h2>
          <Repayments loanId={loan.id} first={loan.repayments} currency={currency} />
        </section>
      )}
    </section>
  );
}

function Schedule({ loan }: { loan: LoanDetails }) {
  return (
    <section className="card" aria-labelledby="schedule">
      <h2 id="schedule">Repayment schedule</h2>
      <div className="table-scroll">
        <table className="schedule" data-testid="schedule">
          <thead>
            <tr>
              <th scope="col">No.</th>
              <th scope="col">Due on</th>
              <th scope="col" className="num">
                Principal
              </th>
              <th scope="col" className="num">
                Interest
              </th>
              <th scope="col" className="num">
                Payment
              </th>
              <th scope="col" className="num">
                Paid
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {loan.schedule.map((installment) => (
              <tr key={installment.number} data-testid="installment">
                <th scope="row">{installment.number}</th>
                <td>
                  <time dateTime={installment.dueOn}>{formatDate(installment.dueOn)}</time>
                </td>
                <td className="num">{formatMoney(installment.principal.amount, installment.principal.currency)}</td>
                <td className="num">{formatMoney(installment.interest.amount, installment.interest.currency)}</td>
                <td className="num">{formatMoney(installment.amount.amount, installment.amount.currency)}</td>
                <td className="num">{formatMoney(installment.paid.amount, installment.paid.currency)}</td>
                <td>
                  <StatusBadge status={installment.status} labels={INSTALLMENT_STATUS_LABELS} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Repayments({ loanId, first, currency }: { loanId: string; first: LoanDetails['repayments']; currency: string }) {
  const client = useClient();
  const [more, setMore] = useState<RepaymentFieldsFragment[]>([]);
  const [pageInfo, setPageInfo] = useState(first.pageInfo);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  // A new first page (after a repayment) starts the list again.
  useEffect(() => {
    setMore([]);
    setPageInfo(first.pageInfo);
  }, [first]);
  const items = appendById(
    first.edges.map((edge) => edge.node),
    more,
  );

  const loadMore = async () => {
    if (!pageInfo.endCursor) return;
    setLoading(true);
    setError(undefined);
    const result = await client
      .query(MoreRepaymentsQuery, { id: loanId, after: pageInfo.endCursor }, { requestPolicy: 'network-only' })
      .toPromise();
    setLoading(false);
    const connection = result.data?.loan.repayments;
    if (!connection) {
      setError(describeLoanError(result.error, 'load').message);
      return;
    }
    setMore((list) => appendById(list, connection.edges.map((edge) => edge.node)));
    setPageInfo(connection.pageInfo);
  };

  return (
    <>
      <ol className="transactions" aria-label="Repayments, newest first">
        {items.map((repayment) => (
          <li key={repayment.id} className="transaction" data-testid="repayment">
            <div>
              <strong>Repayment</strong> <StatusBadge status={repayment.status} labels={REPAYMENT_STATUS_LABELS} />
              {repayment.status === 'FAILED' && <div className="muted">{repaymentFailureText(repayment.failureCode, currency)}</div>}
              <div className="muted small">
                <time dateTime={repayment.createdAt}>{formatMoment(repayment.createdAt)}</time>
              </div>
            </div>
            <div className="amounts">
              <span className={repayment.status === 'FAILED' ? 'muted' : 'debit'}>
                {formatMoney(repayment.amount.amount, repayment.amount.currency)}
              </span>
            </div>
          </li>
        ))}
        {items.length === 0 && <li className="muted">No repayments yet.</li>}
      </ol>
      <FormError message={error} />
      {pageInfo.hasNextPage && pageInfo.endCursor && (
        <p className="more">
          <button type="button" onClick={() => void loadMore()} disabled={loading}>
            {loading ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </>
  );
}

/** Repays part or all of an active loan; one idempotency key per submission, like the money forms. */
function RepayForm({ loan, onRepaid }: { loan: LoanDetails; onRepaid: () => void }) {
  const { currency } = loan.outstanding;
  const accounts = loan.borrower.accounts;
  const eligible = eligibleAccounts(accounts, currency);
  const [amount, setAmount] = useState('');
  const [accountId, setAccountId] = useState(() => defaultRepaymentAccount(loan.account.id, accounts, currency));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submitting = useRef(false);
  const keys = useRef(new SubmissionKeys());
  const toasts = useToasts();
  const [, repay] = useMutation(RepayLoanMutation);
  const decimals = exponentOf(currency);
  const owed = formatMoney(loan.outstanding.amount, currency);
  const monthly = formatMoney(loan.monthlyPayment.amount, currency);
  // The next installment still to pay, or what is owed when that is less.
  const next = loan.schedule.find((installment) => installment.status !== 'PAID');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (submitting.current) return;
    const checked = validateRepayment({ amount, accountId }, loan, accounts);
    setErrors(checked.errors);
    setError(undefined);
    if (hasErrors(checked.errors) || !checked.amount) return;

    const values = { loanId: loan.id, amount: checked.amount, accountId };
    const idempotencyKey = keys.current.keyFor(values);
    submitting.current = true;
    setBusy(true);
    const result = await repay({ input: { ...values, idempotencyKey } });
    submitting.current = false;
    setBusy(false);

    const repayment = result.data?.repayLoan;
    if (repayment) {
      if (repayment.transaction) rememberOwnTransaction(repayment.transaction.id); // no second toast from its alert
      keys.current.settle();
      setAmount('');
      const paid = formatMoney(repayment.amount.amount, repayment.amount.currency);
      if (repayment.status === 'POSTED') toasts.show(`Repaid ${paid}.`, 'success');
      else if (repayment.status === 'PENDING') toasts.show(`Your repayment of ${paid} is being processed.`, 'info');
      else toasts.show(repaymentFailureText(repayment.failureCode, currency), 'error');
      balancesChanged({ accountIds: [accountId] });
      onRepaid();
      return;
    }
    const described = describeLoanError(result.error, 'repay', currency);
    if (described.retryable) keys.current.keepForRetry();
    else keys.current.settle();
    // A repayment the ledger refused is listed as failed: show it.
    if (!described.retryable) onRepaid();
    if (described.code === 'BAD_USER_INPUT' && described.field === 'amount') setErrors({ amount: described.message });
    else if (described.code === 'CURRENCY_MISMATCH' || described.code === 'ACCOUNT_NOT_ACTIVE') setErrors({ accountId: described.message });
    else setError(described.message);
  };

  return (
    <form onSubmit={submit} noValidate className="card" aria-labelledby="repay">
      <h2 id="repay">Repay</h2>
      <p className="muted">
        {owed} still owed; the monthly payment is {monthly}
        {next ? `, next due on ${formatDate(next.dueOn)}` : ''}.
      </p>
      <div className="row">
        {next && (
          <button
            type="button"
            onClick={() => setAmount(installmentLeft(next))}
          >
            Next installment
          </button>
        )}
        <button type="button" onClick={() => setAmount(loan.outstanding.amount)}>
          Everything owed
        </button>
      </div>
      <Field
        label={`Amount (${currency})`}
        hint={decimals === 0 ? 'Whole numbers only.' : `Up to ${decimals} decimals, e.g. ${monthly.replace(/ .*/, '')}.`}
        inputMode={decimals === 0 ? 'numeric' : 'decimal'}
        autoComplete="off"
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        error={errors.amount}
      />
      {eligible.length > 0 ? (
        <SelectField label="Repay from" value={accountId} onChange={(e) => setAccountId(e.target.value)} error={errors.accountId}>
          {eligible.map((account) => (
            <option key={account.id} value={account.id}>
              {accountName(account)} · {formatAccountNumber(account.number)}
            </option>
          ))}
        </SelectField>
      ) : (
        <Notice tone="warning">You have no active account in {currency} to repay from.</Notice>
      )}
      <FormError message={error} />
      <SubmitButton busy={busy} busyText="Repaying…">
        Repay
      </SubmitButton>
    </form>
  );
}
