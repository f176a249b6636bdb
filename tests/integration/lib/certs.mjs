// Throwaway certificates for cluster TLS, made by scripts/make-certs.sh (the
// openssl CLI) in a temp dir that is removed when the test process exits.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO } from './node.mjs';

const dirs = [];
process.on('exit', () => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A new CA with one certificate per entry of `nodes` ({ name: 'IP:127.0.0.1,DNS:x' }).
 * Returns { dir, ca, forNode(name) -> { cert, key, ca } }.
 */
export function makeCerts(label, nodes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `chatd-certs-${label}-`));
  dirs.push(dir);
  const specs = Object.entries(nodes).map(([name, san]) => `${name}=${san}`);
  const res = spawnSync(path.join(REPO, 'scripts/make-certs.sh'), [dir, ...specs], { encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`make-certs.sh failed (${res.status ?? res.signal}): ${res.stderr}`);
  const ca = path.join(dir, 'ca.pem');
  return {
    dir,
    ca,
    forNode(name) {
      if (!(name in nodes)) throw new Error(`no certificate for ${name}`);
      return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`), ca };
    },
  };
}
