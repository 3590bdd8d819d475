// The server's introspection, read over HTTP with graphql-js's own standard
// query, must rebuild (buildClientSchema) into the schema that
// schema.graphql defines: same printed SDL once both are sorted, and no
// breaking or dangerous change in either direction.
// Usage: node check_introspection.js URL TOKEN SCHEMA_FILE
'use strict';
const fs = require('fs');
const g = require('graphql');

async function main() {
  const [url, token, file] = process.argv.slice(2);
  const query = g.getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true });
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json',
               accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  const json = await res.json();
  if (res.status !== 200 || json.errors) {
    throw new Error(`introspection failed: ${res.status} ${JSON.stringify(json.errors)}`);
  }
  const fromServer = g.buildClientSchema(json.data);
  // graphql-js 16's introspection query does not ask for the schema's own
  // description, so it is left out of the comparison.
  const fromFile = new g.GraphQLSchema({
    ...g.buildSchema(fs.readFileSync(file, 'utf8')).toConfig(), description: undefined });
  const errs = g.validateSchema(fromServer);
  if (errs.length) throw new Error(`rebuilt schema invalid: ${errs.map(String).join('; ')}`);
  const a = g.printSchema(g.lexicographicSortSchema(fromServer));
  const b = g.printSchema(g.lexicographicSortSchema(fromFile));
  const changes = [
    ...g.findBreakingChanges(fromFile, fromServer), ...g.findBreakingChanges(fromServer, fromFile),
    ...g.findDangerousChanges(fromFile, fromServer), ...g.findDangerousChanges(fromServer, fromFile),
  ];
  // A standard scalar the schema never references (Float here) is in
  // graphql-js 16's buildSchema type map but not in the server's
  // introspection; the GraphQL spec leaves unreferenced built-in scalars out.
  const unreferencedScalar = /^Standard scalar \w+ was removed because it is not referenced anymore\.$/;
  const real = changes.filter((c) => !unreferencedScalar.test(c.description));
  for (const c of changes) if (!real.includes(c)) console.log(`note: ${c.description}`);
  if (real.length) throw new Error(`schemas differ: ${real.map((c) => c.description).join('; ')}`);
  if (a !== b) {
    const al = a.split('\n'), bl = b.split('\n');
    const i = al.findIndex((l, k) => l !== bl[k]);
    throw new Error(`printed schemas differ at line ${i + 1}:\n  server: ${al[i]}\n  file:   ${bl[i]}`);
  }
  const types = Object.keys(fromServer.getTypeMap()).filter((t) => !t.startsWith('__')).length;
  console.log(`introspection rebuilds schema.graphql exactly (${types} types, ${a.split('\n').length} SDL lines, descriptions included)`);
}
main().catch((e) => { console.error(e.message); process.exit(1); });
