import { useEffect } from 'react';
import { useQuery } from 'urql';
import { DashboardQuery } from '../graphql/operations';
import { useCatchUp } from '../graphql/useCatchUp';
import { describeError } from '../lib/errors';
import { onBalancesChanged } from '../lib/events';
import { loadStatus, missing } from '../lib/loadState';
import { formatMoney } from '../lib/money';
import { Link, usePageTitle } from '../router';
import { StatusBadge, accountName, formatAccountNumber } from '../ui/components';
import { QueryState } from '../ui/QueryState';

export function Dashboard() {
  usePageTitle('Your accounts');
  const [{ data, fetching, error }, refetch] = useQuery({ query: DashboardQuery });
  useEffect(() => onBalancesChanged(() => refetch({ requestPolicy: 'network-only' })), [refetch]);
  const catchingUp = useCatchUp(Boolean(data && !data.me && !error), fetching, refetch);
  const accounts = data?.me?.accounts ?? [];
  const open = accounts.filter((account) => account.status !== 'CLOSED');
  const closed = accounts.filter((account) => account.status === 'CLOSED');
  const failure = error ? describeError(error) : data && !data.me ? missing('We could not load your accounts.') : undefined;
  const status = loadStatus({ fetching: fetching || catchingUp, loaded: Boolean(data?.me), empty: open.length === 0, failure });

  return (
    <section>
      <div className="page-head">
        <h1 tabIndex={-1}>Your accounts</h1>
        <Link href="/accounts/new" className="button primary">
          Open an account
        </Link>
      </div>
      <QueryState
        status={status}
        failure={failure}
        onRetry={() => refetch({ requestPolicy: 'network-only' })}
        loading="Loading your accounts…"
        empty="You have no open accounts yet. Open one to get started."
      />
      <ul className="cards" aria-label="Accounts">
        {open.map((account) => (
          <li key={account.id} className="card account-card">
            <h2>
              <Link href={`/accounts/${account.id}`}>{accountName(account)}</Link>
            </h2>
            <p className="number">{formatAccountNumber(account.number)}</p>
            <p className="balance" data-testid="balance">
              {formatMoney(account.balance.amount, account.balance.currency)}
            </p>
            {account.availableBalance.amount !== account.balance.amount && (
              <p className="muted">Available {formatMoney(account.availableBalance.amount, account.availableBalance.currency)}</p>
            )}
            <StatusBadge status={account.status} />
          </li>
        ))}
      </ul>
      {closed.length > 0 && (
        <details className="closed-accounts">
          <summary>Closed accounts ({closed.length})</summary>
          <ul>
            {closed.map((account) => (
              <li key={account.id}>
                <Link href={`/accounts/${account.id}`}>{accountName(account)}</Link> · {formatAccountNumber(account.number)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
