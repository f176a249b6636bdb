// A byte-transparent relay from a Unix socket to a TCP address, run INSIDE a
// pod's network namespace (`ip netns exec chatpodI node proxy.mjs SOCK HOST PORT`).
//
// Unix sockets live in the file system, not in a network namespace, so the
// test process on the host reaches the pod through SOCK even while the pod's
// veth is cut: every TCP connection to the node starts inside the pod. That is
// how the clients of a cut node keep talking to it during a partition (they
// are "on the cut side"), and how the runner reads that node's HTTP endpoints.
//
// Each accepted Unix connection gets its own TCP connection; when either side
// ends or fails, both are destroyed (a client sees exactly what a direct TCP
// client would see: the connection is gone). The proxy exits when its stdin
// closes, so it never outlives the runner that started it.

import fs from 'node:fs';
import net from 'node:net';

const [sock, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!sock || !host || !Number.isInteger(port)) {
  console.error('usage: proxy.mjs SOCKET HOST PORT');
  process.exit(2);
}

try {
  fs.unlinkSync(sock);
} catch {
  // not there: fine
}

const live = new Set();
const server = net.createServer((down) => {
  const up = net.connect({ host, port });
  const pair = { up, down };
  live.add(pair);
  const end = () => {
    live.delete(pair);
    up.destroy();
    down.destroy();
  };
  up.setNoDelay(true);
  up.on('error', end);
  down.on('error', end);
  up.on('close', end);
  down.on('close', end);
  up.pipe(down);
  down.pipe(up);
});

server.on('error', (err) => {
  console.error(`proxy ${sock}: ${err.message}`);
  process.exit(1);
});

server.listen(sock, () => {
  fs.chmodSync(sock, 0o600);
  process.stdout.write('ready\n');
});

function quit() {
  for (const p of live) {
    p.up.destroy();
    p.down.destroy();
  }
  server.close();
  try {
    fs.unlinkSync(sock);
  } catch {
    // gone already
  }
  process.exit(0);
}

process.stdin.on('end', quit);
process.stdin.on('error', quit);
process.stdin.resume();
process.on('SIGTERM', quit);
process.on('SIGINT', quit);
