// A front door for the chat page: a TCP forwarder on 127.0.0.1 that stands
// where a load balancer (or a Kubernetes Service) stands in production.
//
// The page dials the host that served it (`location.host`) first, so behind
// a front a page survives the death of its node without its own list of
// nodes. Each front has an ordered list of backends and sends every new
// connection to the first one that accepts it: while the preferred node
// lives, every connection lands there; once it is dead (connection refused),
// new connections go to the next one. Nothing is buffered or parsed: bytes
// are piped both ways, and when one side closes the other is closed too, so
// the page sees its node die as the node's socket dying.

import net from 'node:net';

import { HOST, freePort } from '../../integration/lib/node.mjs';

export class Front {
  /**
   * @param {string} name for messages
   * @param {{name: string, httpPort: number}[]} backends in order of preference
   * @param {number} [port] where to listen (default: a free port, taken at start)
   */
  constructor(name, backends, port = null) {
    this.name = name;
    this.backends = backends;
    this.sockets = new Set();
    this.routed = []; // backend name of every forwarded connection, in order
    this.server = null;
    this.port = port;
  }

  get origin() {
    return `http://${HOST}:${this.port}`;
  }

  async start() {
    this.port ??= await freePort();
    this.server = net.createServer((client) => this.#accept(client));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.port, host: HOST, exclusive: true }, resolve);
    });
    return this;
  }

  #track(sock) {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
  }

  #accept(client) {
    this.#track(client);
    client.on('error', () => {});
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
