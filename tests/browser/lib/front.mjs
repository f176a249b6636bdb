// A front door for the chat page: a TCP forwarder on 127.0.0.1 that stands
// where a load balancer (or a Kubernetes Service) stands in production.
//
// The page only ever dials the host that served it (`location.host`), so a
// page survives the death of its node only when the address it loaded from
// reaches another node. Each front has an ordered list of backends and sends
// every new connection to the first one that accepts it: while the preferred
// node lives, every connection lands there; once it is dead (connection
// refused), new connections go to the next one. Nothing is buffered or
// parsed: bytes are piped both ways, and when one side closes the other is
// closed too, so the page sees its node die as the node's socket dying.
//
// `close()` of the gate makes the front refuse (reset) new connections for a
// while, as a load balancer does before its health checks have moved traffic
// away; connections already open stay. Tests use it to hold a page in
// "reconnecting" for as long as they need, instead of racing its backoff.

import net from 'node:net';

import { HOST, freePort } from '../../integration/lib/node.mjs';

export class Front {
  /**
   * @param {string} name for messages
   * @param {{name: string, httpPort: number}[]} backends in order of preference
   */
  constructor(name, backends) {
    this.name = name;
    this.backends = backends;
    this.open = true;
    this.sockets = new Set();
    this.routed = []; // backend name of every forwarded connection, in order
    this.refused = 0; // connections reset while the gate was closed
    this.server = null;
    this.port = null;
  }

  get origin() {
    return `http://${HOST}:${this.port}`;
  }

  async start() {
    this.port = await freePort();
    this.server = net.createServer((client) => this.#accept(client));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.port, host: HOST, exclusive: true }, resolve);
    });
    return this;
  }

  /** Refuse new connections (reset them) until openGate(). */
  closeGate() {
    this.open = false;
  }

  openGate() {
    this.open = true;
  }

  #track(sock) {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
  }

  #accept(client) {
    this.#track(client);
    client.on('error', () => {});
    if (!this.open) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    client.pause();
    this.#dial(client, 0);
  }

  #dial(client, i) {
    if (client.destroyed) return;
    if (i >= this.backends.length) {
      client.resetAndDestroy();
      return;
    }
    const backend = this.backends[i];
    const upstream = net.connect({ port: backend.httpPort, host: HOST });
    this.#track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.routed.push(backend.name);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      // Either side gone (a node SIGKILLed, the page closed): end the other.
      const endBoth = () => {
        client.destroy();
        upstream.destroy();
      };
      client.once('close', endBoth);
      upstream.once('close', endBoth);
    });
    upstream.on('error', () => {
      if (!connected) this.#dial(client, i + 1);
    });
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (this.server) await new Promise((resolve) => this.server.close(() => resolve()));
    this.server = null;
  }
}
