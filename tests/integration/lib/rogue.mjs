// Running the rogue peer tool (tests/attack/rogue_chat.cpp) against a node.

import { spawn } from 'node:child_process';
import path from 'node:path';

import { TOOLS_DIR } from './node.mjs';

export const ROGUE_CHAT_BIN = path.join(TOOLS_DIR, 'rogue_chat');

/**
 * Runs rogue_chat against `node`'s cluster port with `args` after the room;
 * resolves to { code, out } (stdout and stderr). Killed by its PID after
 * `timeoutMs`.
 */
export function runRogueChat(node, room, { args = [], timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(ROGUE_CHAT_BIN, ['127.0.0.1', String(node.clusterPort), room, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const take = (d) => (out += d);
    proc.stdout.on('data', take);
    proc.stderr.on('data', take);
    const timer = setTimeout(() => process.kill(proc.pid, 'SIGKILL'), timeoutMs);
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
