import { LIVE_NOTIFICATIONS } from './config';
import { LiveAlerts } from './live/LiveAlerts';
import { NotificationCentre } from './live/NotificationCentre';

/** Live alerts and the notification centre, when the supergraph has them (config.ts). */
export function Notifications() {
  if (!LIVE_NOTIFICATIONS) return null;
  return (
    <>
      <LiveAlerts />
      <NotificationCentre />
    </>
  );
}
