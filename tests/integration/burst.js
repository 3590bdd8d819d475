// Open N connections at once, send one GraphQL GET on each, wait for all answers.
const net = require('net');
const [host, port, token, n] = [process.argv[2], +process.argv[3], process.argv[4], +process.argv[5]];
let left = n;
const socks = [];
for (let i = 0; i < n; i++) {
  const s = net.connect(port, host);
  socks.push(s);
  let got = '';
  s.on('data', d => {
    got += d;
    if (/\r\n\r\n/.test(got) && got.includes('__typename')) { s.destroy(); if (--left === 0) process.exit(0); }
  });
  s.on('error', e => { console.error(e.message); process.exit(1); });
}
// Every connection is open before any request goes out.
let open = 0;
for (const s of socks) s.on('connect', () => {
  if (++open === n) for (const t of socks)
    t.write(`GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
});
setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
