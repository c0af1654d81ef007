/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser build: none can be
 * fetched here), with the flags verified in shared/docs/real-vscode-here.md.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

export const VIEWPORT = { width: 1400, height: 900 };

export async function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--disable-dev-shm-usage',
    ],
  });
}

export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}
