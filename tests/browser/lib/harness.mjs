// Test wrapper, artifacts and page helpers shared by the browser tests.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';

import { dumpLogs, markFailure, LOG_DIR, waitFor } from '../../integration/lib/node.mjs';

export { waitFor };

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(here, '..', 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });

export function artifact(name) {
  return path.join(ARTIFACTS, name);
}

/** Removes the screenshots of an earlier run of this file (those whose name starts with `prefix`). */
export function clearArtifacts(prefix) {
  for (const f of fs.readdirSync(ARTIFACTS)) {
    if (f.startsWith(prefix)) fs.rmSync(path.join(ARTIFACTS, f), { force: true });
  }
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 50);

/**
 * test(name, { timeout, users: () => [user...] }, fn): node:test's test with a
 * time bound enforced here; on failure it saves a screenshot of every user's
 * page, and prints the page errors, the tail of each page's console and the
 * tails of the node logs to stderr (which every reporter shows).
 */
export function test(name, { timeout = 30_000, users = () => [] } = {}, fn) {
  return nodeTest(name, { timeout: timeout + 10_000 }, async (t) => {
    const started = Date.now();
    let timer;
    const bound = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`test did not finish within ${timeout} ms`)), timeout);
    });
    try {
      await Promise.race([fn(t), bound]);
    } catch (err) {
      markFailure();
      let report = `\n=== failed: ${name}\n${err?.stack ?? err}\n`;
      for (const u of users()) {
        if (!u?.page) continue;
        const file = artifact(`failure-${slug(name)}-${u.label}.png`);
        try {
          await u.page.screenshot({ path: file, timeout: 5000 });
          report += `screenshot of ${u.label}: ${file}\n`;
        } catch (e) {
          report += `no screenshot of ${u.label}: ${e.message}\n`;
        }
        try {
          const rows = await u.page.evaluate(() => ({
            status: document.querySelector('[data-testid=status]')?.outerHTML,
            rows: [...document.querySelectorAll('[data-testid=message]')].map((r) => ({
              id: r.dataset.id, user: r.dataset.user, state: r.dataset.state, text: r.querySelector('.text')?.textContent,
            })),
          }));
          report += `page ${u.label}: ${JSON.stringify(rows)}\n`;
        } catch (e) {
          report += `page ${u.label}: cannot read: ${e.message}\n`;
        }
        report += `page errors of ${u.label}: ${JSON.stringify(u.errors)}\n`;
        report += `console of ${u.label} (tail):\n  ${u.console.slice(-30).join('\n  ')}\n`;
      }
      const logs = dumpLogs(started);
      process.stderr.write(`${report}node logs (all kept in ${LOG_DIR}):${logs || ' none'}\n=== end: ${name}\n`);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  });
}

/**
 * Saves the screenshots of several pages side by side, with a caption over
 * each, as one PNG (laid out in a scratch tab of `host`'s browser).
 */
export async function sideBySide(file, host, shots) {
  const imgs = await Promise.all(
    shots.map(async ({ user, caption }) => ({
      caption,
      src: `data:image/png;base64,${(await user.page.screenshot()).toString('base64')}`,
    })),
  );
  const page = await host.context.newPage();
  try {
    const cells = imgs
      .map((i) => `<figure><figcaption></figcaption><img src="${i.src}"></figure>`)
      .join('');
    await page.setContent(
      `<!doctype html><style>
        body { margin: 0; background: #c9ccd3; font: 600 15px system-ui, sans-serif; }
        main { display: flex; gap: 12px; padding: 12px; width: max-content; }
        figure { margin: 0; } figcaption { padding: 0 0 6px 2px; color: #2a2d33; }
        img { display: block; border-radius: 6px; box-shadow: 0 2px 10px rgb(0 0 0 / 25%); }
      </style><main>${cells}</main>`,
    );
    await page.evaluate((captions) => {
      document.querySelectorAll('figcaption').forEach((c, i) => (c.textContent = captions[i]));
    }, imgs.map((i) => i.caption));
    await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0));
    await page.locator('main').screenshot({ path: file });
  } finally {
    await page.close();
  }
}

/**
 * Chromium flags for a user whose page comes from servePageFrom: Chromium
 * takes a page served that way for one from the public internet and would
 * block its WebSocket to 127.0.0.1 (Local Network Access).
 */
export const SERVED_PAGE_ARGS = ['--disable-features=LocalNetworkAccessChecks'];

/**
 * Serves the chat page's files (index.html, app.js, style.css) to `user`'s
 * page from `dir` instead of from the node at `origin`, which embeds the copy
 * it was built with: for work on the page without rebuilding chatd.
 * Everything else (the WebSocket, /api/...) still goes to the node. Launch
 * that user with `args: SERVED_PAGE_ARGS`.
 */
export async function servePageFrom(user, dir, origin) {
  const files = { '/': 'index.html', '/index.html': 'index.html', '/app.js': 'app.js', '/style.css': 'style.css' };
  const types = { html: 'text/html', js: 'text/javascript', css: 'text/css' };
  await user.page.route((url) => url.origin === origin && url.pathname in files, (route) => {
    const name = files[new URL(route.request().url()).pathname];
    route.fulfill({
      status: 200,
      contentType: `${types[name.split('.').pop()]}; charset=utf-8`,
      body: fs.readFileSync(path.join(dir, name)),
    });
  });
}

// ---------------------------------------------------------------- page reads

/** Every message row of the shown room: { id, user, state, text, html }. */
export function rows(user) {
  return user.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=message-list] [data-testid=message]')].map((r) => ({
      id: r.dataset.id ?? null,
      user: r.dataset.user,
      state: r.dataset.state ?? null,
      text: r.querySelector('.text')?.textContent ?? null,
    })),
  );
}

export function status(user) {
  return user.page.evaluate(() => {
    const s = document.querySelector('[data-testid=status]');
    return { state: s.dataset.state, node: s.dataset.node, text: s.textContent };
  });
}

export async function presence(user) {
  return user.page.evaluate(() =>
    [...document.querySelectorAll('[data-testid=presence-list] [data-testid=presence-item]')].map((p) => p.dataset.user),
  );
}

export function typingText(user) {
  return user.page.locator('[data-testid=typing-indicator]').textContent();
}

/**
 * Records every message row the page adds from now on, with the data-state
 * it had when added (the page rebuilds a row when its state changes, so the
 * short-lived "sending" row is seen even when the ack is quick).
 */
export function recordRows(user) {
  return user.page.evaluate(() => {
    window.__rowLog = [];
    const list = document.querySelector('[data-testid=message-list]');
    new MutationObserver((muts) => {
      for (const m of muts) {
        for (const n of m.addedNodes) {
          if (n.nodeType !== 1 || n.dataset.testid !== 'message') continue;
          window.__rowLog.push({ text: n.querySelector('.text')?.textContent, state: n.dataset.state ?? null, id: n.dataset.id ?? null });
        }
      }
    }).observe(list, { childList: true });
  });
}

export function rowLog(user, text) {
  return user.page.evaluate((t) => window.__rowLog.filter((r) => r.text === t), text);
}
