import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { useClient } from 'urql';
import type { ReconciliationQuery as ReconciliationResult } from '../gql/graphql';
import { formatMoment } from '../lib/dates';
import type { Described } from '../lib/errors';
import { loadStatus } from '../lib/loadState';
import { formatMoney } from '../lib/money';
import { usePageTitle } from '../router';
import { Notice } from '../ui/components';
import { QueryState } from '../ui/QueryState';
import { ReconciliationQuery } from './documents';
import { describeReconciliationError } from './messages';
import {
  ledgerProblems,
  mismatchCountText,
  serviceMismatchRows,
  suspenseText,
  summariseReconciliation,
  verdictText,
  type MismatchRow,
  type PartSummary,
} from './summary';

type Report = ReconciliationResult['reconciliation'];
type ServiceReport = Report['payments'];

interface State {
  running: boolean;
  report?: Report;
  failure?: Described;
}

/** Tellers and administrators: the ledger's invariants, and payments and loans against the ledger. */
export function ReconciliationPage() {
  usePageTitle('Reconciliation');
  const client = useClient();
  const [state, setState] = useState<State>({ running: true });
  // Only the latest run's answer counts (a slow earlier one must not replace it).
  const latest = useRef(0);

  const run = useCallback(async () => {
    const id = ++latest.current;
    setState((s) => ({ ...s, running: true, failure: undefined }));
    const result = await client.query(ReconciliationQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    if (id !== latest.current) return;
    const report = result.data?.reconciliation;
    if (report) setState({ running: false, report });
    else setState({ running: false, failure: describeReconciliationError(result.error) });
  }, [client]);

  useEffect(() => {
    void run();
    return () => {
      latest.current++; // left the page: ignore the answer
    };
  }, [run]);

  const { running, report, failure } = state;
  const status = loadStatus({ fetching: running, loaded: Boolean(report && !failure), failure });
  return (
    <section className="reconciliation" aria-busy={running}>
      <div className="page-head">
        <h1 tabIndex={-1}>Reconciliation</h1>
        <button type="button" onClick={() => void run()} disabled={running}>
          {running && report ? 'Running…' : 'Run again'}
        </button>
      </div>
      <QueryState status={status} failure={failure} onRetry={() => void run()} loading="Running the reconciliation…" />
      {report && !failure && <ReportView report={report} />}
    </section>
  );
}

function ReportView({ report }: { report: Report }) {
  const summary = summariseReconciliation(report);
  const ledger = report.ledger;
  return (
    <>
      <Notice tone={summary.ok ? 'success' : 'warning'}>
        <strong className="verdict" data-testid="reconciliation-verdict">
          {verdictText(summary)}
        </strong>
        <span className="verdict-note">
          {summary.ok
            ? 'The ledger’s invariants hold, and payments and loans agree with the ledger.'
            : 'Some records and the ledger disagree. Each part below lists what it found.'}{' '}
          {summary.suspense > 0 && suspenseText(summary.suspense)}
        </span>
      </Notice>

      <Part id="reconciliation-ledger" title="Ledger" summary={summary.ledger}>
        <dl className="facts">
          <Fact label="Accounts checked" value={ledger.accountsChecked} testId="ledger-accounts-checked" />
          <Fact label="Transactions checked" value={ledger.transactionsChecked} testId="ledger-transactions-checked" />
          <div>
            <dt>Sum per currency</dt>
            <dd>
              {ledger.totals.length === 0
                ? 'No money yet'
                : ledger.totals.map((total) => formatMoney(total.amount, total.currency)).join(', ')}
            </dd>
          </div>
          <CheckedAt moment={ledger.checkedAt} />
        </dl>
        <Mismatches rows={ledgerProblems(ledger)} none="Every invariant holds." />
      </Part>

      <ServicePart id="reconciliation-payments" title="Payments" service={report.payments} summary={summary.payments} />
      <ServicePart id="reconciliation-loans" title="Loans" service={report.loans} summary={summary.loans} />
    </>
  );
}

function Part({ id, title, summary, children }: { id: string; title: string; summary: PartSummary; children: ReactNode }) {
  return (
    <section className="card reconciliation-part" aria-labelledby={id} data-testid="reconciliation-part">
      <div className="page-head">
        <h2 id={id}>{title}</h2>
        <span className={`badge ${summary.ok ? 'badge-agrees' : 'badge-disagrees'}`} data-testid="part-verdict">
          {mismatchCountText(summary.mismatches)}
        </span>
      </div>
      {children}
    </section>
  );
}

function ServicePart({ id, title, service, summary }: { id: string; title: string; service: ServiceReport; summary: PartSummary }) {
  return (
    <Part id={id} title={title} summary={summary}>
      <dl className="facts">
        <Fact label="Records checked" value={service.recordsChecked} testId="records-checked" />
        <Fact label="Ledger transactions checked" value={service.ledgerTransactionsChecked} testId="ledger-transactions-checked" />
        <CheckedAt moment={service.checkedAt} />
      </dl>
      <Mismatches rows={serviceMismatchRows(service)} none="Every record agrees with the ledger." />
      <h3>Held in suspense</h3>
      {service.suspense.length === 0 ? (
        <p className="muted">Nothing is held in suspense.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Reference</th>
                <th scope="col" className="num">
                  Amount
                </th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {service.suspense.map((item) => (
                <tr key={`${item.reference}-${item.transactionId}`} data-testid="suspense-item">
                  <td className="wrap">{item.reference}</td>
                  <td className="num">{formatMoney(item.amount.amount, item.amount.currency)}</td>
                  <td>
                    <time dateTime={item.heldSince}>{formatMoment(item.heldSince)}</time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Part>
  );
}

function Mismatches({ rows, none }: { rows: MismatchRow[]; none: string }) {
  return (
    <>
      <h3>Mismatches</h3>
      {rows.length === 0 ? (
        <p className="muted">{none}</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Reference</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row, index) => (
                <tr key={`${row.what}-${row.reference}-${index}`} data-testid="mismatch">
                  <td className="wrap">{row.what}</td>
                  <td className="wrap number small">{row.reference}</td>
                  <td className="wrap">{row.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function Fact({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId}>{value.toLocaleString()}</dd>
    </div>
  );
}

function CheckedAt({ moment }: { moment: string }) {
  return (
    <div>
      <dt>Checked at</dt>
      <dd>
        <time dateTime={moment} data-testid="checked-at">
          {formatMoment(moment)}
        </time>
      </dd>
    </div>
  );
}
