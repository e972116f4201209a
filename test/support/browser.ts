/**
 * Headless Chromium for the web UI tests: Debian's `chromium` package, driven by playwright-core, which
 * never downloads a browser of its own. Each launch gets a fresh, empty profile from Playwright, and
 * the flags keep Chromium from calling Google's services, which this machine's closed network refuses.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/**
 * Chromium logs every 401 and 403 response as a console error. The UI gets them on purpose when it
 * reads who is signed in, and the tests try what a reader may not do.
 */
const expectedRejection = /^Failed to load resource: the server responded with a status of 40[13] /;

const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where the tests save their screenshots; `npm run screenshots` copies the current ones to docs. */
export const screenshotDirectory =
  process.env.UI_SCREENSHOT_DIR ?? fileURLToPath(new URL('../../screenshots/', import.meta.url));

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumFlags, timeout: 30_000 });
}

/**
 * Problems Wharf's pages reported while a test used them: uncaught errors, console errors (a Content
 * Security Policy violation is one) and native dialogs, such as the Basic-auth prompt that a 401 with
 * a Basic challenge would open. Messages of other origins, such as the identity provider's sign-in
 * pages, are not Wharf's and are left out. A UI test ends by asserting that the list is empty.
 */
export class PageProblems {
  readonly problems: string[] = [];

  constructor(private readonly origin: string) {}

  watch(page: Page): Page {
    page.on('pageerror', (error) => this.problems.push(`uncaught error: ${error.message}`));
    page.on('console', (message) => {
      const source = message.location().url || page.url();

      if (
        message.type() === 'error' &&
        source.startsWith(this.origin) &&
        !expectedRejection.test(message.text())
      ) {
        this.problems.push(`console error at ${source}: ${message.text()}`);
      }
    });
    page.on('dialog', (dialog) => {
      this.problems.push(`native ${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });

    return page;
  }
}

/** Opens a browser context for one user, on a laptop-sized window, whose pages may use the clipboard. */
export async function newUserContext(
  browser: Browser,
  baseUrl: string,
  options: { width?: number; height?: number; colorScheme?: 'light' | 'dark' } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? 'light',
    // Timestamps stay readable in screenshots wherever the tests run.
    locale: 'en-US',
    timezoneId: 'UTC',
  });

  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });

  return context;
}

/**
 * Saves a full-page screenshot as `<name>.png` in the screenshot directory and returns its path.
 * `hidden` elements, such as a new API key, are painted over, so no secret lands in a picture.
 */
export async function saveScreenshot(page: Page, name: string, hidden: Locator[] = []): Promise<string> {
  const path = join(screenshotDirectory, `${name}.png`);

  await mkdir(screenshotDirectory, { recursive: true });
  await page.screenshot({ path, fullPage: true, animations: 'disabled', mask: hidden, maskColor: '#8a94a6' });

  return path;
}
