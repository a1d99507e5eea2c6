/**
 * Open a local HTML file in a real headless browser (Debian's chromium, driven by playwright-core) and record what
 * a user would notice: console errors, page errors and every request that leaves file://.
 * Chromium comes from `apt-get install chromium` (scripts/test.sh installs it); DYNSWEEP_CHROMIUM overrides the path.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.DYNSWEEP_CHROMIUM ?? '/usr/bin/chromium';

export interface OpenedPage {
  browser: Browser;
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests whose URL is not file:// (or data:), i.e. anything that would need a network. */
  externalRequests: string[];
  close(): Promise<void>;
}

export async function openInChromium(file: string, viewport = { width: 1400, height: 1000 }): Promise<OpenedPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set DYNSWEEP_CHROMIUM)`);
  // --no-sandbox: CI containers run as root, where chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport });
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const externalRequests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => {
    if (!/^(file|data|about):/.test(r.url())) externalRequests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { browser, page, consoleErrors, pageErrors, externalRequests, close: () => browser.close() };
}
