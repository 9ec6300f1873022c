import { useEffect } from 'react';
import { isAdmin, isStaff, restore, signOut, useSession } from './auth/session';
import { AuditPage } from './audit';
import { DirectDebitsPage } from './directdebits';
import { Notifications, NotificationsPage, PreferencesPage } from './notifications';
import { LoanDetail, LoansPage, StaffLoans } from './loans';
import { PaymentsPage } from './payments';
import { ReconciliationPage } from './reconciliation';
import { LIVE_NOTIFICATIONS } from './notifications/config';
import { Link, Redirect, navigate, usePageTitle, usePath } from './router';
import { AccountDetail } from './screens/AccountDetail';
import { Callback } from './screens/Callback';
import { ChangePassword } from './screens/ChangePassword';
import { Dashboard } from './screens/Dashboard';
import { ForgotPassword } from './screens/ForgotPassword';
import { OpenAccount } from './screens/OpenAccount';
import { ResetPassword } from './screens/ResetPassword';
import { SignIn, SignUp } from './screens/SignIn';
import { Staff } from './screens/Staff';
import { VerifyEmail } from './screens/VerifyEmail';

export function App() {
  const session = useSession();
  const path = usePath();
  useEffect(restore, []);

  const signedIn = session.status === 'signedIn';
  // The confirmation link from the sign-up e-mail (/verify-email?token=…) is for someone signed
  // out, and so is asking for a password-reset link.
  const publicPath = path === '/signin' || path === '/signup' || path === '/verify-email' || path === '/forgot-password';

  let page;
  // The sign-in page's answer: it makes the session, whatever this tab had before.
  if (path === '/callback') page = <Callback />;
  // The e-mailed reset link works whoever this tab has signed in: it signs in its own person.
  else if (path === '/reset-password' && session.status !== 'restoring') page = <ResetPassword />;
  else if (session.status === 'restoring') page = <p aria-live="polite">Signing you in…</p>;
  else if (!signedIn) page = publicPath ? <PublicPage path={path} /> : <Redirect to="/signin" />;
  else if (publicPath) page = <Redirect to="/" />;
  else if (path === '/') page = <Dashboard />;
  else if (path === '/accounts/new') page = <OpenAccount />;
  else if (path.startsWith('/accounts/')) page = <AccountDetail key={path} id={decodeURIComponent(path.slice('/accounts/'.length))} />;
  else if (path === '/payments') page = <PaymentsPage />;
  else if (path === '/direct-debits') page = <DirectDebitsPage />;
  else if (path === '/loans') page = <LoansPage />;
  else if (path.startsWith('/loans/')) page = <LoanDetail key={path} id={decodeURIComponent(path.slice('/loans/'.length))} />;
  else if (path === '/staff' && isStaff(session.user)) page = <Staff />;
  else if (path === '/staff/loans' && isStaff(session.user)) page = <StaffLoans />;
  else if (path === '/staff/reconciliation' && isStaff(session.user)) page = <ReconciliationPage />;
  // Linked for administrators only; a teller at the address is told the trail is theirs (FORBIDDEN).
  else if (path === '/staff/audit' && isStaff(session.user)) page = <AuditPage />;
  else if (LIVE_NOTIFICATIONS && path === '/notifications') page = <NotificationsPage />;
  else if (LIVE_NOTIFICATIONS && path === '/notifications/settings') page = <PreferencesPage />;
  else if (path === '/settings/password') page = <ChangePassword />;
  else page = <NotFound />;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link href="/" className="brand">
          Bank
        </Link>
        {signedIn && (
          <nav aria-label="Main">
            <Link href="/" aria-current={path === '/' ? 'page' : undefined}>
              Accounts
            </Link>
            <Link href="/accounts/new" aria-current={path === '/accounts/new' ? 'page' : undefined}>
              Open account
            </Link>
            <Link href="/payments" aria-current={path === '/payments' ? 'page' : undefined}>
              Payments
            </Link>
            <Link href="/direct-debits" aria-current={path === '/direct-debits' ? 'page' : undefined}>
              Direct debits
            </Link>
            <Link href="/loans" aria-current={path === '/loans' || path.startsWith('/loans/') ? 'page' : undefined}>
              Loans
            </Link>
            {isStaff(session.user) && (
              <>
                <Link href="/staff" aria-current={path === '/staff' ? 'page' : undefined}>
                  Staff
                </Link>
                <Link href="/staff/loans" aria-current={path === '/staff/loans' ? 'page' : undefined}>
                  Loan applications
                </Link>
                <Link href="/staff/reconciliation" aria-current={path === '/staff/reconciliation' ? 'page' : undefined}>
                  Reconciliation
                </Link>
                {isAdmin(session.user) && (
                  <Link href="/staff/audit" aria-current={path === '/staff/audit' ? 'page' : undefined}>
                    Audit trail
                  </Link>
                )}
              </>
            )}
            <Notifications />
            <Link
              href="/settings/password"
              className="who"
              title={`${session.user.email}: change your password`}
              aria-current={path === '/settings/password' ? 'page' : undefined}
            >
              {session.user.fullName}
            </Link>
            <button
              type="button"
              onClick={async () => {
                await signOut();
                navigate('/signin');
              }}
            >
              Sign out
            </button>
          </nav>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

/** What someone signed out may see: signing in, signing up, confirming an address, asking for a reset link. */
function PublicPage({ path }: { path: string }) {
  if (path === '/signup') return <SignUp />;
  if (path === '/verify-email') return <VerifyEmail />;
  if (path === '/forgot-password') return <ForgotPassword />;
  return <SignIn />;
}

function NotFound() {
  usePageTitle('Not found');
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        <Link href="/">Go to your accounts</Link>
      </p>
    </section>
  );
}
