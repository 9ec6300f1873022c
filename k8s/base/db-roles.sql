-- Each service's own database role (docs/deploy.md, "Database roles").
--
-- A service connects as `bank_<service>`, which owns the service's schema and reaches nothing
-- else: no other schema, nothing in `public`, no new schemas. SQL injected into one service
-- therefore reads and writes that service's tables only (the users service's signing keys stay
-- out of reach of the others). The database's owner (the administrator, `bank`) is made a
-- member of every service role, so operators and migrations run by hand still see everything.
--
-- Run by a role that may create roles (a superuser, or one with CREATEROLE) in the bank's
-- database, after the Citus workers are registered and before any service starts. Idempotent:
-- it also moves the objects of an existing installation (made when every service used the
-- administrator's role) to the service roles. Passwords are optional psql variables (a local
-- cluster that trusts loopback needs none):
--   psql -v ON_ERROR_STOP=1 -v users_password=… -v accounts_password=… … -f db-roles.sql

\set ON_ERROR_STOP on
SET client_min_messages = warning;
\if :{?users_password}
SELECT set_config('bank.password_users', :'users_password', false) \gset
\endif
\if :{?accounts_password}
SELECT set_config('bank.password_accounts', :'accounts_password', false) \gset
\endif
\if :{?transactions_password}
SELECT set_config('bank.password_transactions', :'transactions_password', false) \gset
\endif
\if :{?notifications_password}
SELECT set_config('bank.password_notifications', :'notifications_password', false) \gset
\endif
\if :{?loans_password}
SELECT set_config('bank.password_loans', :'loans_password', false) \gset
\endif
\if :{?payments_password}
SELECT set_config('bank.password_payments', :'payments_password', false) \gset
\endif

DO $roles$
DECLARE
  svc text;
  service_role text;
  admin text := (SELECT pg_get_userbyid(datdba) FROM pg_database
                 WHERE datname = current_database());
  password text;
  obj record;
BEGIN
  -- Nobody but the owner creates objects in `public` or connects unless granted.
  REVOKE CREATE ON SCHEMA public FROM PUBLIC;
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  FOREACH svc IN ARRAY ARRAY['users', 'accounts', 'transactions', 'notifications', 'loans',
                             'payments'] LOOP
    service_role := 'bank_' || svc;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = service_role) THEN
      EXECUTE format('CREATE ROLE %I LOGIN NOCREATEDB NOCREATEROLE', service_role);
    END IF;
    password := current_setting('bank.password_' || svc, true);
    IF coalesce(password, '') <> '' THEN
      EXECUTE format('ALTER ROLE %I PASSWORD %L', service_role, password);
      -- On Citus the coordinator connects to the workers as the service's role, with this
      -- password (node 0: every worker).
      IF to_regclass('pg_catalog.pg_dist_authinfo') IS NOT NULL THEN
        EXECUTE 'DELETE FROM pg_catalog.pg_dist_authinfo WHERE rolename = $1 AND nodeid = 0'
          USING service_role;
        EXECUTE 'INSERT INTO pg_catalog.pg_dist_authinfo (nodeid, rolename, authinfo)
                 VALUES (0, $1, $2)' USING service_role, 'password=' || password;
      END IF;
    END IF;
    EXECUTE format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', service_role,
                   current_database(), svc);
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(),
                   service_role);
    IF admin <> service_role AND NOT pg_has_role(admin, service_role, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', service_role, admin);
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', svc);
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, service_role);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
    -- Tables first (their owned sequences follow them), then what stands alone.
    FOR obj IN
      SELECT c.oid::regclass AS name, c.relkind
        FROM pg_class c
       WHERE c.relnamespace = to_regnamespace(svc)
         AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
         AND c.relowner <> to_regrole(service_role)
         AND NOT (c.relkind = 'S' AND EXISTS (
               SELECT FROM pg_depend d
                WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype IN ('a', 'i')))
       ORDER BY c.relkind = 'S', c.relispartition DESC
    LOOP
      EXECUTE format('ALTER %s %s OWNER TO %I',
                     CASE obj.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                     obj.name, service_role);
    END LOOP;
    FOR obj IN
      SELECT t.oid::regtype AS name
        FROM pg_type t
       WHERE t.typnamespace = to_regnamespace(svc)
         AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
         AND t.typowner <> to_regrole(service_role)
    LOOP
      EXECUTE format('ALTER TYPE %s OWNER TO %I', obj.name, service_role);
    END LOOP;
    FOR obj IN
      SELECT p.oid::regprocedure AS name
        FROM pg_proc p
       WHERE p.pronamespace = to_regnamespace(svc)
         AND p.proowner <> to_regrole(service_role)
    LOOP
      EXECUTE format('ALTER ROUTINE %s OWNER TO %I', obj.name, service_role);
    END LOOP;
  END LOOP;
END
$roles$;
