import { useEffect, useRef } from 'react';
import { useClient } from 'urql';
import { balancesChanged } from '../../lib/events';
import { RecentSet, decideAlert, ownTransactionIds } from '../alerts';
import { notificationEvent } from '../events';
import { useToasts } from '../Toasts';
import { NotificationAddedSubscription, TransactionAlertsSubscription } from './documents';

/**
 * The live subscriptions while someone is signed in: every posting on their accounts becomes a
 * toast and refetches the balances it touched; every stored notification reaches the centre.
 * Each event is handled as it comes (not only the latest one a render sees).
 */
export function LiveAlerts() {
  const client = useClient();
  const toasts = useToasts();
  const seenAlerts = useRef(new RecentSet());
  const seenNotifications = useRef(new RecentSet());

  useEffect(() => {
    const alerts = client.subscription(TransactionAlertsSubscription, {}).subscribe((result) => {
      const alert = result.data?.transactionAlerts;
      if (!alert) return;
      const decision = decideAlert(alert, seenAlerts.current, ownTransactionIds());
      if (decision.action !== 'show') return;
      toasts.show(decision.toast, decision.tone);
      balancesChanged({ accountIds: decision.refreshAccountIds });
    });
    const added = client.subscription(NotificationAddedSubscription, {}).subscribe((result) => {
      const notification = result.data?.notificationAdded;
      if (!notification || seenNotifications.current.has(notification.id)) return;
      seenNotifications.current.add(notification.id);
      notificationEvent({ type: 'added', notification });
    });
    return () => {
      alerts.unsubscribe();
      added.unsubscribe();
    };
  }, [client, toasts]);
  return null;
}
