// Open N connections at once, send one GraphQL GET on each and wait for all
// answers; then, with all N still open, ask /metrics over the first one and
// print the open connections of each server thread ("16 16").
const net = require('net');
const [host, port, token, n] = [process.argv[2], +process.argv[3], process.argv[4], +process.argv[5]];
let left = n;
const socks = [];
const got = [];
const req = path => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`;
function metrics() {
  let m = '';
  socks[0].removeAllListeners('data');
  socks[0].on('data', d => {
    m += d;
    if (!/jirasync_graphql_connections\{[^\n]*\n(?![\s\S]*jirasync_graphql_connections)/.test(m)) return;
    const per = [...m.matchAll(/^jirasync_graphql_connections\{thread="\d+"\} (\d+)$/gm)].map(x => x[1]);
    console.log(per.join(' '));
    process.exit(0);
  });
  socks[0].write(req('/metrics'));
}
for (let i = 0; i < n; i++) {
  const s = net.connect(port, host);
  socks.push(s);
  got.push('');
  s.on('data', d => {
    got[i] += d;
    if (/\r\n\r\n/.test(got[i]) && got[i].includes('__typename')) {
      got[i] = '';
      if (--left === 0) metrics();
    }
  });
  s.on('error', e => { console.error(e.message); process.exit(1); });
}
// Every connection is open before any request goes out.
let open = 0;
for (const s of socks) s.on('connect', () => {
  if (++open === n) for (const t of socks) t.write(req('/graphql?query=%7B__typename%7D'));
});
setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
