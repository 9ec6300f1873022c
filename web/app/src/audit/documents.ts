/**
 * The audit trail (administrators only), typed by code generation from the supergraph like every
 * other operation (`npm run codegen`). `auditLog` has one field per service, each answered by
 * that service: its newest entries and the verification of its hash chain (docs/security.md).
 */
import { graphql } from '../gql';

/**
 * A page of entries, newest first. The entry's fields are written out here rather than in a
 * fragment of their own: the router counts each fragment spread as a level of depth (at most 10).
 */
export const AuditEntryPage = graphql(`
  fragment AuditEntryPage on AuditEntryConnection {
    nodes {
      id
      position
      at
      actor
      actorRoles
      onBehalfOf
      action
      subject
      outcome
      address
      requestId
      before
      after
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
`);

/** One service's part: its newest entries (with the action asked for, if any) and its chain checked now. */
export const AuditTrailFields = graphql(`
  fragment AuditTrailFields on AuditTrail {
    service
    entries(first: $first, action: $action) {
      ...AuditEntryPage
    }
    verification {
      ok
      sealed
      unsealed
      problems
      head
      checkedAt
    }
  }
`);

/** Every service's newest entries and verification: when the page opens, on a filter, on Check again. */
export const AuditLogQuery = graphql(`
  query AuditLog($first: Int!, $action: String) {
    auditLog {
      id
      users {
        ...AuditTrailFields
      }
      accounts {
        ...AuditTrailFields
      }
      transactions {
        ...AuditTrailFields
      }
      notifications {
        ...AuditTrailFields
      }
      loans {
        ...AuditTrailFields
      }
      payments {
        ...AuditTrailFields
      }
    }
  }
`);

/**
 * The next page of one service's entries (Load more): only that service is asked (its flag is
 * true, the others false), and its chain is not walked again.
 */
export const MoreAuditEntriesQuery = graphql(`
  query MoreAuditEntries(
    $first: Int!
    $after: String
    $action: String
    $users: Boolean!
    $accounts: Boolean!
    $transactions: Boolean!
    $notifications: Boolean!
    $loans: Boolean!
    $payments: Boolean!
  ) {
    auditLog {
      id
      users @include(if: $users) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
      accounts @include(if: $accounts) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
      transactions @include(if: $transactions) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
      notifications @include(if: $notifications) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
      loans @include(if: $loans) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
      payments @include(if: $payments) {
        service
        entries(first: $first, after: $after, action: $action) {
          ...AuditEntryPage
        }
      }
    }
  }
`);
