import { LIVE_NOTIFICATIONS } from './config';
import { LiveAlerts } from './live/LiveAlerts';
import { NotificationCentre } from './live/NotificationCentre';

export { NotificationsPage } from './live/NotificationsPage';
export { PreferencesPage } from './live/PreferencesPage';

/** Live alerts and the header's notification link (config.ts can switch them off). */
export function Notifications() {
  if (!LIVE_NOTIFICATIONS) return null;
  return (
    <>
      <LiveAlerts />
      <NotificationCentre />
    </>
  );
}
