#!/usr/bin/env node
// Supergraph composition for the bank platform.
//
// Reads the subgraphs listed in schema/subgraphs.json
//   [{ "name": "users", "url": "http://127.0.0.1:4001/graphql" }, ...]
// takes each subgraph's SDL from schema/subgraphs/<name>.graphql (exported by
// the Rust subgraphs), composes them with @theguild/federation-composition
// (the MIT-licensed composition used by GraphQL Hive) and writes the
// supergraph SDL the router loads to schema/supergraph.graphql.
// The `name` of each entry becomes its join__Graph enum value (upper-cased)
// and `url` the routing URL recorded in the supergraph.
//
// Usage:
//   node schema/compose.mjs            compose and write schema/supergraph.graphql
//   node schema/compose.mjs --check    exit 1 if schema/supergraph.graphql is stale
// Options (paths are relative to the current directory):
//   --dir <path>     directory holding <name>.graphql files (default: schema/subgraphs)
//   --config <path>  subgraph list                          (default: schema/subgraphs.json)
//   --out <path>     supergraph file to write or check      (default: schema/supergraph.graphql)
//
// Exit codes: 0 ok, 1 composition error / stale supergraph / bad input.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse, specifiedDirectives, GraphQLError, Kind } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';

const here = path.dirname(fileURLToPath(import.meta.url));

function fail(message) {
  console.error(message);
  process.exit(1);
}

const { values: opts } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    dir: { type: 'string', default: path.join(here, 'subgraphs') },
    config: { type: 'string', default: path.join(here, 'subgraphs.json') },
    out: { type: 'string', default: path.join(here, 'supergraph.graphql') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  console.log('usage: node compose.mjs [--check] [--dir <path>] [--config <path>] [--out <path>]');
  process.exit(0);
}

const show = (p) => path.relative(process.cwd(), p) || p;

// --- read the subgraph list -------------------------------------------------
let subgraphs;
try {
  subgraphs = JSON.parse(readFileSync(opts.config, 'utf8'));
} catch (err) {
  fail(`cannot read subgraph list ${show(opts.config)}: ${err.message}`);
}
if (!Array.isArray(subgraphs) || subgraphs.length === 0) {
  fail(`${show(opts.config)} must be a non-empty JSON array of { "name", "url" }`);
}
for (const sg of subgraphs) {
  if (typeof sg?.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(sg.name)) {
    fail(`${show(opts.config)}: invalid subgraph name ${JSON.stringify(sg?.name)}`);
  }
  if (typeof sg.url !== 'string' || sg.url === '') {
    fail(`${show(opts.config)}: subgraph "${sg.name}" needs a "url"`);
  }
}

// --- read and parse each subgraph's SDL --------------------------------------
// async-graphql's federation SDL re-declares built-in directives such as
// `directive @include(...)` / `@skip(...)`; composition would copy them into
// the supergraph, so drop definitions of GraphQL's own directives here.
const builtInDirectives = new Set(specifiedDirectives.map((d) => d.name));
const withoutBuiltInDirectives = (doc) => ({
  ...doc,
  definitions: doc.definitions.filter(
    (def) => !(def.kind === Kind.DIRECTIVE_DEFINITION && builtInDirectives.has(def.name.value)),
  ),
});

const services = subgraphs.map(({ name, url }) => {
  const file = path.join(opts.dir, `${name}.graphql`);
  if (!existsSync(file)) {
    fail(`missing SDL for subgraph "${name}": ${show(file)} (export the subgraph schemas first)`);
  }
  try {
    return { name, url, typeDefs: withoutBuiltInDirectives(parse(readFileSync(file, 'utf8'))) };
  } catch (err) {
    const at = err instanceof GraphQLError && err.locations?.[0];
    fail(`${show(file)}${at ? `:${at.line}:${at.column}` : ''}: ${err.message}`);
  }
});

// --- compose ------------------------------------------------------------------
const result = composeServices(services);
if (compositionHasErrors(result)) {
  console.error(`composition failed with ${result.errors.length} error(s):`);
  for (const err of result.errors) {
    const code = err.extensions?.code ? `[${err.extensions.code}] ` : '';
    console.error(`  - ${code}${err.message}`);
  }
  process.exit(1);
}
const supergraph = result.supergraphSdl.trimEnd() + '\n';

// --- write or check -------------------------------------------------------------
const current = existsSync(opts.out) ? readFileSync(opts.out, 'utf8') : null;
const name = path.basename(opts.out);

if (opts.check) {
  if (current === null) fail(`${name} does not exist; run \`make schema\``);
  if (current.replace(/\r\n/g, '\n') !== supergraph) {
    fail(`${name} is out of date; run \`make schema\``);
  }
  console.log(`${name} is up to date (${services.length} subgraphs)`);
} else if (current === supergraph) {
  console.log(`${show(opts.out)} unchanged (${services.length} subgraphs)`);
} else {
  writeFileSync(opts.out, supergraph);
  console.log(`wrote ${show(opts.out)} (${services.length} subgraphs: ${subgraphs.map((s) => s.name).join(', ')})`);
}
