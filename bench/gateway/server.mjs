#!/usr/bin/env node
// Apollo Gateway over the bank's subgraphs, for the read comparison in bench/run.sh
// (BENCH_ONLY=reads): the same supergraph the router loads (schema/supergraph.graphql, a
// Federation 2 supergraph given to the gateway as `supergraphSdl`, nothing introspected), the
// same subgraph processes, and the same headers passed on to them as the router passes
// (router/router.config.yaml: authorization, x-request-id, traceparent, x-forwarded-for), so
// each subgraph checks the token and owns its data exactly as behind the router.
//
// Environment:
//   APOLLO_GATEWAY_PORT (4193)          port, on 127.0.0.1 only
//   SUPERGRAPH_FILE_PATH                the supergraph (default: ../../schema/supergraph.graphql)
//   ROUTER_<SUBGRAPH>_URL               each subgraph's URL, the router's own overrides
//                                       (ROUTER_USERS_URL, ROUTER_ACCOUNTS_URL, ...); without
//                                       one, the URL recorded in the supergraph
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const here = path.dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.APOLLO_GATEWAY_PORT ?? 4193);
const supergraphPath =
  process.env.SUPERGRAPH_FILE_PATH ?? path.join(here, '..', '..', 'schema', 'supergraph.graphql');

const FORWARDED = ['authorization', 'x-request-id', 'traceparent', 'x-forwarded-for'];

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of FORWARDED) {
      const value = context?.headers?.[name];
      if (typeof value === 'string') request.http.headers.set(name, value);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(supergraphPath, 'utf8'),
  buildService({ name, url }) {
    const override = process.env[`ROUTER_${name.toUpperCase()}_URL`];
    return new ForwardingDataSource({ url: override || url });
  },
});

const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port },
  context: async ({ req }) => ({ headers: req.headers }),
});
console.log(`Apollo Gateway on ${url} (supergraph ${supergraphPath})`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    await server.stop();
    process.exit(0);
  });
}
