// The `test` every integration test file uses: node:test's test with a
// default time bound; on failure the tails of the logs of the nodes involved
// go to stderr, which every reporter shows. `cleanup` is the `after` hook of
// each file: it closes all clients and stops all nodes, also after failures.

import { test as nodeTest } from 'node:test';

import { closeAllClients } from './client.mjs';
import { dumpLogs, markFailure, stopAll, LOG_DIR } from './node.mjs';

export const DEFAULT_TEST_TIMEOUT_MS = 30_000;

/**
 * test(name, [options], fn): node:test's test with a time bound (options.timeout,
 * default 30 s) enforced here, so that a test that hangs fails with the node
 * logs printed; node:test's own timeout stays a few seconds later as a net.
 */
export function test(name, options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  const timeoutMs = options.timeout ?? DEFAULT_TEST_TIMEOUT_MS;
  return nodeTest(name, { ...options, timeout: timeoutMs + 5000 }, async (t) => {
    const started = Date.now();
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`test did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([fn(t), timeout]);
    } catch (err) {
      markFailure();
      // stderr of a test file is shown by every reporter (TAP: as comments).
      const logs = dumpLogs(started);
      process.stderr.write(
        `\n=== failed: ${name}\n${err?.message ?? err}\nnode logs (all kept in ${LOG_DIR}):${logs || ' none'}\n=== end of logs for: ${name}\n`,
      );
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });
}

/** For `after(cleanup)`: closes every client and stops every node this file started. */
export async function cleanup() {
  closeAllClients();
  await stopAll();
}
