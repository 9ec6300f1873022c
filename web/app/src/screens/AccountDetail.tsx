import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { AccountQuery, CloseAccountMutation, TransactionsQuery } from '../graphql/operations';
import { useCatchUp } from '../graphql/useCatchUp';
import { describeError } from '../lib/errors';
import { balancesChanged, concerns, onBalancesChanged } from '../lib/events';
import { loadStatus, missing } from '../lib/loadState';
import { formatMoney, isNegative } from '../lib/money';
import { Link, navigate, usePageTitle } from '../router';
import { FormError, Notice, StatusBadge, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { MoneyForm } from './MoneyForm';

const PAGE_SIZE = 10;

const KIND_TEXT: Record<string, string> = {
  DEPOSIT: 'Deposit',
  WITHDRAWAL: 'Withdrawal',
  TRANSFER: 'Transfer',
  HOLD_CAPTURE: 'Card payment',
  REVERSAL: 'Money returned',
  LOAN_DISBURSEMENT: 'Loan paid out',
  LOAN_REPAYMENT: 'Loan repayment',
  EXTERNAL_PAYMENT: 'Payment to another bank',
};

export function AccountDetail({ id }: { id: string }) {
  const [{ data, fetching, error }, refetch] = useQuery({ query: AccountQuery, variables: { id } });
  // Bumped when balances change: the history starts again from its first page.
  const [version, setVersion] = useState(0);
  useEffect(
    () =>
      onBalancesChanged((change) => {
        if (!concerns(change, id)) return;
        refetch({ requestPolicy: 'network-only' });
        setVersion((v) => v + 1);
      }),
    [refetch, id],
  );
  const account = data?.account;
  const catchingUp = useCatchUp(Boolean(data && !account && !error), fetching, refetch);
  usePageTitle(account ? accountName(account) : 'Account');

  if (!account) {
    const failure = error ? describeError(error) : missing('We could not find that account.');
    return (
      <section>
        <h1 tabIndex={-1}>Account</h1>
        <QueryState
          status={loadStatus({ fetching: fetching || catchingUp, loaded: false, failure })}
          failure={failure}
          onRetry={() => refetch({ requestPolicy: 'network-only' })}
          loading="Loading the account…"
        />
        <p>
          <Link href="/">Back to your accounts</Link>
        </p>
      </section>
    );
  }

  return (
    <section>
      <p className="crumbs">
        <Link href="/">← Your accounts</Link>
      </p>
      <div className="page-head">
        <h1 tabIndex={-1}>{accountName(account)}</h1>
        <StatusBadge status={account.status} />
      </div>
      <dl className="facts card">
        <div>
          <dt>Balance</dt>
          <dd className="balance" data-testid="balance">
            {formatMoney(account.balance.amount, account.balance.currency)}
          </dd>
        </div>
        <div>
          <dt>Available</dt>
          <dd>{formatMoney(account.availableBalance.amount, account.availableBalance.currency)}</dd>
        </div>
        <div>
          <dt>Account number</dt>
          <dd className="number" data-testid="account-number">
            {formatAccountNumber(account.number)}
          </dd>
        </div>
        <div>
          <dt>Daily withdrawal limit</dt>
          <dd>{formatMoney(account.dailyWithdrawalLimit.amount, account.dailyWithdrawalLimit.currency)}</dd>
        </div>
      </dl>
      {account.status === 'FROZEN' && (
        <Notice tone="warning">
          This account is frozen{account.freezeReason ? `: ${account.freezeReason}` : '.'} No money can move on it.
        </Notice>
      )}
      {account.status === 'CLOSED' && <Notice>This account was closed.</Notice>}
      {account.status === 'ACTIVE' && <MoneyForm account={account} ownAccounts={account.owner.accounts} />}
      <section className="card" aria-labelledby="history">
        <h2 id="history">Transactions</h2>
        <TransactionHistory key={version} accountId={account.id} />
      </section>
      {account.status !== 'CLOSED' && <CloseAccount id={account.id} balance={account.balance.amount} currency={account.currency} />}
    </section>
  );
}

function TransactionHistory({ accountId }: { accountId: string }) {
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  return (
    <ol className="transactions" aria-label="Transaction history, newest first">
      {cursors.map((after, index) => (
        <TransactionPage
          key={after ?? 'first'}
          accountId={accountId}
          after={after}
          last={index === cursors.length - 1}
          onMore={(cursor) => setCursors((list) => [...list, cursor])}
        />
      ))}
    </ol>
  );
}

function TransactionPage({
  accountId,
  after,
  last,
  onMore,
}: {
  accountId: string;
  after: string | null;
  last: boolean;
  onMore: (cursor: string) => void;
}) {
  const [{ data, fetching, error }, refetch] = useQuery({
    query: TransactionsQuery,
    variables: { id: accountId, first: PAGE_SIZE, after },
    requestPolicy: 'network-only',
  });
  const connection = data?.account?.transactions;
  const catchingUp = useCatchUp(Boolean(data && !connection && !error), fetching, refetch);
  const failure = error ? describeError(error) : missing('We could not load the transactions.');
  const status = loadStatus({
    fetching: fetching || catchingUp,
    loaded: Boolean(connection),
    empty: after === null && connection?.edges.length === 0,
    failure,
  });
  return (
    <>
      {connection?.edges.map((edge) => {
        const { node } = edge;
        const counterpart = isNegative(edge.amount.amount) ? node.toAccount : node.fromAccount;
        return (
          <li key={`${node.id}-${edge.cursor}`} className="transaction">
            <div>
              <strong>{KIND_TEXT[node.kind] ?? node.kind}</strong>
              {counterpart && node.kind === 'TRANSFER' && (
                <span className="muted">
                  {' '}
                  {isNegative(edge.amount.amount) ? 'to' : 'from'} {formatAccountNumber(counterpart.number)}
                </span>
              )}
              {node.description && <div className="muted">{node.description}</div>}
              <div className="muted small">
                <time dateTime={node.createdAt}>{new Date(node.createdAt).toLocaleString()}</time>
              </div>
            </div>
            <div className="amounts">
              <span className={isNegative(edge.amount.amount) ? 'debit' : 'credit'}>
                {formatMoney(edge.amount.amount, edge.amount.currency, { signed: true })}
              </span>
              <span className="muted small">Balance {formatMoney(edge.balanceAfter.amount, edge.balanceAfter.currency)}</span>
            </div>
          </li>
        );
      })}
      <QueryState
        item
        status={status}
        failure={failure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading transactions…"
        empty="No transactions yet."
      />
      {last && connection?.pageInfo.hasNextPage && connection.pageInfo.endCursor && (
        <li className="more">
          <button type="button" onClick={() => onMore(connection.pageInfo.endCursor!)}>
            Load more
          </button>
        </li>
      )}
    </>
  );
}

function CloseAccount({ id, balance, currency }: { id: string; balance: string; currency: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();
  const [{ fetching }, close] = useMutation(CloseAccountMutation);
  const zero = /^-?0*(\.0*)?$/.test(balance);

  const confirm = async () => {
    setError(undefined);
    const result = await close({ id });
    if (result.data?.closeAccount) {
      balancesChanged();
      navigate('/');
    } else {
      setError(
        describeError(result.error, {
          ACCOUNT_NOT_ACTIVE: 'A frozen account can only be closed by the bank.',
        }).message,
      );
    }
  };

  return (
    <section className="card danger-zone" aria-labelledby="close-account">
      <h2 id="close-account">Close this account</h2>
      {!zero && <p className="muted">The balance must be {formatMoney('0', currency)} before the account can be closed.</p>}
      {!confirming ? (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Close account…
        </button>
      ) : (
        <div role="group" aria-label="Confirm closing">
          <p>Close the account for good? This cannot be undone.</p>
          <div className="row">
            <button type="button" className="danger" onClick={confirm} disabled={fetching} autoFocus>
              {fetching ? 'Closing…' : 'Yes, close it'}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      <FormError message={error} />
    </section>
  );
}
