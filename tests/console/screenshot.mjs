// Logs in to a running console and writes a screenshot of its board: how docs/console.png is
// taken, from the main job while the city runs.
//
//   ./build/release/tools/whistle-city --duration-s=60 &     # prints the console's address and a ticket
//   PLAYWRIGHT_CORE_DIR=/tmp/pwc node tests/console/screenshot.mjs URL TICKET docs/console.png 40000
//
// The last argument is how long to watch before the shot, in ms (the board fills as the city runs).
import { createRequire } from 'node:module';
import path from 'node:path';

const [url, ticket, out, wait = '10000'] = process.argv.slice(2);
if (!url || !ticket || !out || !process.env.PLAYWRIGHT_CORE_DIR) {
  console.error('usage: PLAYWRIGHT_CORE_DIR=DIR node screenshot.mjs URL TICKET OUT.png [WAIT_MS]');
  process.exit(2);
}
const { chromium } = createRequire(import.meta.url)(path.join(process.env.PLAYWRIGHT_CORE_DIR, 'index.js'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.fill('#ticket', ticket);
  await page.click('#login-button');
  await page.waitForSelector('#board td[data-level]', { timeout: 10_000 });
  await page.waitForTimeout(Number(wait));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
}
