import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { useClient } from 'urql';
import { useSession } from '../auth/session';
import type { AuditEntryPageFragment, AuditLogQuery as AuditLogResult } from '../gql/graphql';
import { formatMoment } from '../lib/dates';
import type { Described } from '../lib/errors';
import { loadStatus } from '../lib/loadState';
import { usePageTitle } from '../router';
import { Field, Notice } from '../ui/components';
import { LoadFailure, QueryState } from '../ui/QueryState';
import { AuditLogQuery, MoreAuditEntriesQuery } from './documents';
import { describeAuditError } from './messages';
import {
  AUDIT_SERVICES,
  SERVICE_TITLES,
  actionsSeen,
  actorText,
  appendEntries,
  detailLabel,
  noEntriesText,
  outcomeTone,
  parseActionFilter,
  positionText,
  prettyJson,
  rolesText,
  summariseVerifications,
  trailVerdictText,
  verdictText,
  verificationProblems,
  verifiedText,
  verifies,
  type AuditService,
} from './summary';

const PAGE_SIZE = 20;

type Log = AuditLogResult['auditLog'];
type Verification = Log['users']['verification'];
type Entry = AuditEntryPageFragment['nodes'][number];

/** One service's part as the page shows it: the entries loaded so far and its verification. */
interface Trail {
  entries: Entry[];
  endCursor: string | null;
  hasNextPage: boolean;
  verification: Verification;
  loadingMore: boolean;
  /** Why loading the next page failed. */
  moreFailure?: Described;
}

type Trails = Record<AuditService, Trail>;

interface State {
  running: boolean;
  /** The action the entries are filtered by; null: every action. */
  action: string | null;
  trails?: Trails;
  failure?: Described;
}

function trailsFrom(log: Log): Trails {
  const trails = {} as Trails;
  for (const service of AUDIT_SERVICES) {
    const part = log[service];
    trails[service] = {
      entries: part.entries.nodes,
      endCursor: part.entries.pageInfo.endCursor ?? null,
      hasNextPage: part.entries.pageInfo.hasNextPage,
      verification: part.verification,
      loadingMore: false,
    };
  }
  return trails;
}

/**
 * Administrators: every service's audit trail, newest entries first, and whether its hash chain
 * verifies. Filtered by action; each trail pages on with Load more.
 */
export function AuditPage() {
  usePageTitle('Audit trail');
  const client = useClient();
  const session = useSession();
  const me = session.status === 'signedIn' ? session.user.id : undefined;
  const [state, setState] = useState<State>({ running: true, action: null });
  const [filterText, setFilterText] = useState('');
  const [filterError, setFilterError] = useState<string>();
  // Only the latest load's answer counts (a slow earlier one must not replace it), and a page
  // of entries asked for before it is dropped.
  const latest = useRef(0);

  const load = useCallback(
    async (action: string | null) => {
      const id = ++latest.current;
      // The entries shown stay under their own filter until the answer comes.
      setState((s) => ({ ...s, running: true, failure: undefined }));
      const result = await client.query(AuditLogQuery, { first: PAGE_SIZE, action }, { requestPolicy: 'network-only' }).toPromise();
      if (id !== latest.current) return;
      const log = result.data?.auditLog;
      if (log) setState({ running: false, action, trails: trailsFrom(log) });
      else setState({ running: false, action, failure: describeAuditError(result.error) });
    },
    [client],
  );

  useEffect(() => {
    void load(null);
    return () => {
      latest.current++; // left the page: ignore the answer
    };
  }, [load]);

  const update = (service: AuditService, change: (trail: Trail) => Trail) =>
    setState((s) => (s.trails ? { ...s, trails: { ...s.trails, [service]: change(s.trails[service]) } } : s));

  const more = async (service: AuditService, after: string, action: string | null) => {
    const generation = latest.current;
    update(service, (trail) => ({ ...trail, loadingMore: true, moreFailure: undefined }));
    const only = Object.fromEntries(AUDIT_SERVICES.map((name) => [name, name === service])) as Record<AuditService, boolean>;
    const result = await client
      .query(MoreAuditEntriesQuery, { first: PAGE_SIZE, after, action, ...only }, { requestPolicy: 'network-only' })
      .toPromise();
    if (generation !== latest.current) return;
    const page = result.data?.auditLog[service]?.entries;
    if (!page) {
      update(service, (trail) => ({ ...trail, loadingMore: false, moreFailure: describeAuditError(result.error) }));
      return;
    }
    update(service, (trail) => ({
      ...trail,
      loadingMore: false,
      entries: appendEntries(trail.entries, page.nodes),
      endCursor: page.pageInfo.endCursor ?? null,
      hasNextPage: page.pageInfo.hasNextPage,
    }));
  };

  const submitFilter = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseActionFilter(filterText);
    if (!parsed.ok) {
      setFilterError(parsed.error);
      return;
    }
    setFilterError(undefined);
    setFilterText(parsed.action ?? '');
    void load(parsed.action);
  };

  const clearFilter = () => {
    setFilterText('');
    setFilterError(undefined);
    void load(null);
  };

  const { running, action, trails, failure } = state;
  const status = loadStatus({ fetching: running, loaded: Boolean(trails && !failure), failure });
  const suggestions = trails ? actionsSeen(AUDIT_SERVICES.map((service) => trails[service].entries)) : [];
  return (
    <section className="audit" aria-busy={running}>
      <div className="page-head">
        <h1 tabIndex={-1}>Audit trail</h1>
        <button type="button" onClick={() => void load(action)} disabled={running}>
          {running && trails ? 'Checking…' : 'Check again'}
        </button>
      </div>
      <p className="muted">
        Every change asked of the bank, done or refused, as each service recorded it, newest first. Each service’s chain of
        entries is verified when the page opens and on Check again.
      </p>
      {(trails || action) && (
        <form className="card audit-filter" onSubmit={submitFilter} noValidate role="search" aria-label="Filter by action">
          <Field
            label="Action"
            hint="Exactly as recorded, e.g. users.login or loans.approveLoan. Empty: every action."
            value={filterText}
            onChange={(e) => setFilterText(e.target.value)}
            error={filterError}
            list="audit-actions"
            autoComplete="off"
            spellCheck={false}
          />
          <datalist id="audit-actions">
            {suggestions.map((suggestion) => (
              <option key={suggestion} value={suggestion} />
            ))}
          </datalist>
          <div className="row">
            <button type="submit" className="primary" disabled={running}>
              Filter
            </button>
            {action && (
              <button type="button" onClick={clearFilter} disabled={running}>
                Show every action
              </button>
            )}
          </div>
        </form>
      )}
      <QueryState status={status} failure={failure} onRetry={() => void load(action)} loading="Reading and verifying the audit trail…" />
      {trails && !failure && (
        <TrailsView trails={trails} action={action} me={me} onMore={(service, after) => void more(service, after, action)} />
      )}
    </section>
  );
}

function TrailsView({
  trails,
  action,
  me,
  onMore,
}: {
  trails: Trails;
  action: string | null;
  me?: string;
  onMore: (service: AuditService, after: string) => void;
}) {
  const summary = summariseVerifications(trails);
  return (
    <>
      <Notice tone={summary.ok ? 'success' : 'warning'}>
        <strong className="verdict" data-testid="audit-verdict">
          {verdictText(summary)}
        </strong>
        <span className="verdict-note">
          {summary.ok
            ? 'Each service’s chain is whole and unchanged, and every entry older than a minute is in it.'
            : 'Each trail below lists what its verification found. Compare its chain head with the heads the service logged.'}
        </span>
      </Notice>
      {action && (
        <p data-testid="audit-filter-note">
          Showing <strong className="number">{action}</strong> entries only.
        </p>
      )}
      {AUDIT_SERVICES.map((service) => (
        <TrailView key={service} service={service} trail={trails[service]} action={action} me={me} onMore={onMore} />
      ))}
    </>
  );
}

function TrailView({
  service,
  trail,
  action,
  me,
  onMore,
}: {
  service: AuditService;
  trail: Trail;
  action: string | null;
  me?: string;
  onMore: (service: AuditService, after: string) => void;
}) {
  const id = `audit-${service}`;
  const verification = trail.verification;
  const ok = verifies(verification);
  const loadMore = () => trail.endCursor && onMore(service, trail.endCursor);
  return (
    <section className="card audit-trail" aria-labelledby={id} data-testid="audit-trail">
      <div className="page-head">
        <h2 id={id}>{SERVICE_TITLES[service]}</h2>
        <span className={`badge ${ok ? 'badge-agrees' : 'badge-disagrees'}`} data-testid="trail-verdict">
          {trailVerdictText(verification)}
        </span>
      </div>
      <dl className="facts">
        <div>
          <dt>Entries in the chain</dt>
          <dd data-testid="sealed">{verification.sealed.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Chain head</dt>
          <dd className="number small" data-testid="chain-head">
            {verification.head ?? 'none yet'}
          </dd>
        </div>
        <div>
          <dt>Verified at</dt>
          <dd>
            <time dateTime={verification.checkedAt} data-testid="checked-at">
              {formatMoment(verification.checkedAt)}
            </time>
          </dd>
        </div>
      </dl>
      {ok ? (
        <p className="muted" data-testid="verification-ok">
          {verifiedText(verification)}
        </p>
      ) : (
        <ul className="audit-problems" aria-label={`What the verification of ${SERVICE_TITLES[service]} found`}>
          {verificationProblems(verification).map((problem, index) => (
            <li key={index} data-testid="audit-problem">
              {problem}
            </li>
          ))}
        </ul>
      )}
      <h3>Newest entries</h3>
      {trail.entries.length === 0 ? (
        <p className="muted">{noEntriesText(action)}</p>
      ) : (
        <div className="table-scroll">
          <table className="audit-entries">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Subject</th>
                <th scope="col">Outcome</th>
                <th scope="col">Address</th>
                <th scope="col">Request id</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {trail.entries.map((entry) => (
                <EntryRow key={entry.id} service={service} entry={entry} me={me} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {trail.moreFailure && <LoadFailure failure={trail.moreFailure} onRetry={loadMore} busy={trail.loadingMore} />}
      {!trail.moreFailure && trail.hasNextPage && trail.endCursor && (
        <p className="more">
          <button type="button" onClick={loadMore} disabled={trail.loadingMore}>
            {trail.loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </section>
  );
}

function EntryRow({ service, entry, me }: { service: AuditService; entry: Entry; me?: string }) {
  const [open, setOpen] = useState(false);
  const roles = rolesText(entry.actorRoles);
  const label = detailLabel(entry);
  const detailId = `audit-${service}-entry-${entry.id}`;
  return (
    <>
      <tr data-testid="audit-entry" className={open ? 'open' : undefined}>
        <td>
          <time dateTime={entry.at}>{formatMoment(entry.at)}</time>
          <div className="muted small">{positionText(entry.position)}</div>
        </td>
        <td className="wrap">
          {actorText(entry.actor, me)}
          {roles && <span className="muted small"> ({roles})</span>}
          {entry.onBehalfOf && <div className="muted small">for {entry.onBehalfOf}</div>}
        </td>
        <td className="wrap number small">{entry.action}</td>
        <td className="wrap">{entry.subject ?? '—'}</td>
        <td>
          <span className={`outcome outcome-${outcomeTone(entry.outcome)}`}>{entry.outcome}</span>
        </td>
        <td className="wrap">{entry.address ?? '—'}</td>
        <td className="wrap number small">{entry.requestId ?? '—'}</td>
        <td>
          {label ? (
            <button
              type="button"
              className="link-button"
              aria-expanded={open}
              aria-controls={detailId}
              onClick={() => setOpen((was) => !was)}
              data-testid="entry-detail-toggle"
            >
              {open ? `Hide ${label.toLowerCase()}` : label}
            </button>
          ) : (
            '—'
          )}
        </td>
      </tr>
      {label && open && (
        <tr className="audit-detail" id={detailId} data-testid="entry-detail">
          <td colSpan={8}>
            {entry.before?.trim() && (
              <>
                <h4>Before</h4>
                <pre>{prettyJson(entry.before)}</pre>
              </>
            )}
            {entry.after?.trim() && (
              <>
                <h4>After</h4>
                <pre>{prettyJson(entry.after)}</pre>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
