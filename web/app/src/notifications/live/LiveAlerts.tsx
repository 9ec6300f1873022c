import { useEffect } from 'react';
import { useSubscription } from 'urql';
import { balancesChanged } from '../../lib/events';
import { formatMoney, isNegative } from '../../lib/money';
import { useToasts } from '../Toasts';
import { TransactionAlertsSubscription, type TransactionAlertData } from './documents';

/** Every posting on the person's accounts: a toast, and balances on screen refetch. */
export function LiveAlerts() {
  const toasts = useToasts();
  const [{ data }] = useSubscription<TransactionAlertData>({ query: TransactionAlertsSubscription });
  const alert = data?.transactionAlerts;
  useEffect(() => {
    if (!alert) return;
    const { amount } = alert.transaction;
    const incoming = !isNegative(amount.amount) && alert.transaction.kind !== 'WITHDRAWAL';
    const name = alert.account.nickname || alert.account.number;
    toasts.show(
      `${incoming ? 'Received' : 'Paid'} ${formatMoney(amount.amount.replace(/^-/, ''), amount.currency)} on ${name}. ` +
        `Balance ${formatMoney(alert.balanceAfter.amount, alert.balanceAfter.currency)}.`,
      'info',
    );
    balancesChanged();
  }, [alert, toasts]);
  return null;
}
