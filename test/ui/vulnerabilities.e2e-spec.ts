/**
 * The Vulnerabilities tab and the severity badges in headless Chromium against a real Wharf. Images
 * hold a real npm lockfile resolved at test time (minimist 1.2.5, lodash 4.17.19 and semver 7.5.1), are
 * pushed with skopeo, scanned on push and matched against the real OSV records in test/fixtures/osv/npm.
 * Every number the pages show is compared with the admin API's response.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

import { findPackage } from '../../src/common/package-info.js';
import { launchChromium, newUserContext, PageProblems, saveScreenshot } from '../support/browser.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import {
  createTar,
  type Descriptor,
  linuxAmd64,
  linuxArm64,
  tagInLayout,
  writeImageIndex,
} from '../support/oci-layout.js';
import { npmLockfile, type TestLayer, writeLayeredImage } from '../support/scan-images.js';
import { Skopeo } from '../support/skopeo.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface Summary {
  scanned: number;
  failed: number;
  highest: string | null;
  counts: Record<string, number>;
}

interface Finding {
  id: string;
  aliases: string[];
  severity: string;
  package: { name: string };
  installedVersion: string;
  fixedVersion: string | null;
  image: string;
}

interface Vulnerabilities {
  images: {
    digest: string;
    status: string;
    platform: { os: string; architecture: string; variant?: string } | null;
    scannedAt: string | null;
    warnings: string[];
  }[];
  summary: Summary;
  findings: Finding[];
}

/** alice is an administrator who imports records and pushes, and bob may only read. */
const passwords = {
  alice: randomBytes(12).toString('base64url'),
  bob: randomBytes(12).toString('base64url'),
};
const osvDirectory = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv', 'npm');
const scanDeadlineMs = 60_000;
const severityOrder = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE', 'UNKNOWN'];

function total(summary: Summary): number {
  return Object.values(summary.counts).reduce((sum, count) => sum + count, 0);
}

/** Reads the findings of a manifest through the admin API as alice. */
async function vulnerabilities(wharf: WharfServer, repository: string, digest: string) {
  const response = await fetch(
    `${wharf.baseUrl}/api/v1/repositories/${encodeURIComponent(repository)}/manifests/${digest}/vulnerabilities`,
    { headers: { Authorization: basicAuthorization('alice', passwords.alice) } },
  );

  assert.equal(response.status, 200, await response.clone().text());

  return (await response.json()) as Vulnerabilities;
}

/** Polls the API until every image of the manifest has a finished scan that `done` accepts, for at most 60 s. */
async function scanned(
  wharf: WharfServer,
  repository: string,
  digest: string,
  done: (result: Vulnerabilities) => boolean = () => true,
): Promise<Vulnerabilities> {
  const finished = (result: Vulnerabilities): boolean =>
    result.images.length > 0 && result.images.every((image) => image.status === 'done') && done(result);
  const deadline = Date.now() + scanDeadlineMs;
  let result = await vulnerabilities(wharf, repository, digest);

  while (!finished(result) && Date.now() < deadline) {
    await sleep(250);
    result = await vulnerabilities(wharf, repository, digest);
  }

  assert.ok(finished(result), `the scan did not finish: ${JSON.stringify(result).slice(0, 2000)}`);

  return result;
}

/** Returns the raw number behind the value that follows the term `term` in a description list. */
async function shownValue(scope: Page | Locator, term: string): Promise<number> {
  const value = scope
    .locator('dt', { hasText: new RegExp(`^${term}$`) })
    .locator('xpath=following-sibling::dd[1]');

  return Number(await value.getAttribute('data-value'));
}

/** Returns the rows of the findings table, once it is on the page. */
async function findingRows(page: Page): Promise<Locator> {
  const table = page.getByRole('region', { name: 'Vulnerability list' });

  await table.waitFor();

  return table.locator('tbody tr');
}

/** Waits until the findings table has `count` rows and returns their package cells' text. */
async function expectRows(page: Page, count: number): Promise<string[]> {
  const rows = await findingRows(page);

  await page.getByText(new RegExp(`^Showing ${count} of \\d+ findings?$`)).waitFor();
  assert.equal(await rows.count(), count);

  return rows.locator('td[data-label="Package"] .package-name').allTextContents();
}

describe('Vulnerabilities tab and badges in Chromium', () => {
  let work: string;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let browser: Browser;
  let problems: PageProblems;
  const contexts: BrowserContext[] = [];
  let appImage: Descriptor;
  let cleanImage: Descriptor;
  /** The digest of team/broken:v1 as stored, because skopeo rewrites the manifest of that image. */
  let brokenDigest: string;
  let index: Descriptor;

  async function newPage(options: Parameters<typeof newUserContext>[2] = {}): Promise<Page> {
    const context = await newUserContext(browser, wharf.baseUrl, options);

    contexts.push(context);

    return problems.watch(await context.newPage());
  }

  async function signIn(page: Page): Promise<void> {
    await page.goto('/home');
    await page.waitForURL(/\/home\/sign-in/);
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill(passwords.bob);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/home');
    await page.locator('#main:focus').waitFor();
  }

  /** Calls the API from inside the page, with bob's session cookie. */
  function getFromPage<T>(page: Page, path: string): Promise<{ status: number; body: T }> {
    return page.evaluate(async (requestPath) => {
      const response = await fetch(requestPath, { headers: { Accept: 'application/json' } });

      return { status: response.status, body: (await response.json()) as T };
    }, path);
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-ui-scan-'));
    skopeo = await Skopeo.create(join(work, 'skopeo'));

    const lockfile = await npmLockfile(join(work, 'npm'), [
      'minimist@1.2.5',
      'lodash@4.17.19',
      'semver@7.5.1',
    ]);
    const osRelease: TestLayer = {
      tar: createTar([{ path: 'etc/os-release', content: await readFile('/etc/os-release') }]),
    };
    const app: TestLayer = { tar: createTar([{ path: 'app/package-lock.json', content: lockfile }]) };
    const layout = join(work, 'layout');

    appImage = await writeLayeredImage(layout, 'app', linuxAmd64, [osRelease, app]);
    cleanImage = await writeLayeredImage(layout, 'clean', linuxAmd64, [osRelease]);
    // A first layer that is neither gzip nor tar: the scan reports it and reads the lockfile all the same.
    await writeLayeredImage(layout, 'broken', linuxAmd64, [
      { raw: randomBytes(4096), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      app,
    ]);
    // Only a layer that cannot be read: no findings, but no clean bill of health either.
    await writeLayeredImage(layout, 'unreadable', linuxAmd64, [
      { raw: randomBytes(4096), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
    ]);

    // An index of two platforms with the same packages, so each finding is listed once per platform.
    const amd64 = await writeLayeredImage(layout, 'amd64', linuxAmd64, [osRelease, app]);
    const arm64 = await writeLayeredImage(layout, 'arm64', linuxArm64, [app]);

    index = await writeImageIndex(layout, [
      { ...amd64, platform: linuxAmd64 },
      { ...arm64, platform: linuxArm64 },
    ]);
    await tagInLayout(layout, 'multi', index);

    const htpasswd = join(work, 'htpasswd');

    await writeHtpasswd(htpasswd, passwords);
    wharf = await startWharf({
      config: {
        auth: { htpasswd: { path: htpasswd } },
        access: {
          repositories: { '**': { authenticated: ['read'] } },
          admins: { users: ['alice'] },
        },
        scanning: { enabled: true },
      },
    });

    const records: string[] = [];

    for (const file of (await readdir(osvDirectory)).filter((name) => name.endsWith('.json')).sort()) {
      records.push(JSON.stringify(JSON.parse(await readFile(join(osvDirectory, file), 'utf8'))));
    }

    const imported = await fetch(`${wharf.baseUrl}/api/v1/vulndb/import`, {
      method: 'POST',
      headers: {
        Authorization: basicAuthorization('alice', passwords.alice),
        'Content-Type': 'application/x-ndjson',
      },
      body: records.join('\n'),
    });

    assert.equal(imported.status, 200, await imported.clone().text());
    assert.equal(((await imported.json()) as { added: number }).added, records.length);

    const credentials = ['--dest-creds', `alice:${passwords.alice}`];

    await skopeo.push(`oci:${layout}:app`, `docker://${wharf.hostPort}/team/app:v1`, credentials);
    await skopeo.push(`oci:${layout}:clean`, `docker://${wharf.hostPort}/team/clean:v1`, credentials);
    await skopeo.push(`oci:${layout}:broken`, `docker://${wharf.hostPort}/team/broken:v1`, credentials);
    await skopeo.push(
      `oci:${layout}:unreadable`,
      `docker://${wharf.hostPort}/team/unreadable:v1`,
      credentials,
    );
    await skopeo.push(`oci:${layout}:multi`, `docker://${wharf.hostPort}/team/multi:v1`, [
      ...credentials,
      '--all',
    ]);
    await scanned(wharf, 'team/app', appImage.digest);
    await scanned(wharf, 'team/clean', cleanImage.digest);

    const storedDigest = async (repository: string): Promise<string> => {
      const head = await fetch(`${wharf.baseUrl}/v2/${repository}/manifests/v1`, {
        method: 'HEAD',
        headers: {
          Authorization: basicAuthorization('alice', passwords.alice),
          Accept: 'application/vnd.oci.image.manifest.v1+json',
        },
      });

      return head.headers.get('docker-content-digest') ?? '';
    };

    brokenDigest = await storedDigest('team/broken');
    await scanned(wharf, 'team/broken', brokenDigest);
    await scanned(wharf, 'team/unreadable', await storedDigest('team/unreadable'));
    await scanned(wharf, 'team/multi', index.digest);

    browser = await launchChromium();
    problems = new PageProblems(wharf.baseUrl);
  });

  after(async () => {
    for (const context of contexts) {
      await context.close();
    }

    await browser?.close();
    await wharf?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('shows severity badges on the repository list', async () => {
    const page = await newPage();

    await signIn(page);

    const api = await getFromPage<{ items: { name: string; vulnerabilities: Summary | null }[] }>(
      page,
      '/api/v1/repositories',
    );
    const app = api.body.items.find((item) => item.name === 'team/app')?.vulnerabilities;
    const clean = api.body.items.find((item) => item.name === 'team/clean')?.vulnerabilities;

    assert.ok(app?.highest, JSON.stringify(api.body));
    assert.equal(app.highest, 'CRITICAL');
    assert.equal(clean?.highest, null);
    assert.equal(clean?.scanned, 1);

    const badge = (name: string): Locator =>
      page
        .locator('tr', { has: page.getByRole('link', { name, exact: true }) })
        .locator('td[data-label="Vulnerabilities"] .badge');
    const appText = (await badge('team/app').textContent()) ?? '';

    assert.match(appText, new RegExp(`^${app.counts[app.highest]} ${app.highest}`));
    assert.match(appText, new RegExp(`of ${total(app)} findings`));
    assert.equal(await badge('team/clean').textContent(), 'no findings');
    assert.equal(await badge('team/unreadable').textContent(), 'incomplete');
    await saveScreenshot(page, 'vulnerability-badges');
  });

  it('shows a badge on the tag list that opens the Vulnerabilities tab', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto('/home/repositories/team/app');

    const tags = await getFromPage<{ items: { name: string; vulnerabilities: Summary }[] }>(
      page,
      '/api/v1/repositories/team%2Fapp/tags',
    );
    const summary = tags.body.items[0].vulnerabilities;
    const link = page
      .locator('tr', { has: page.getByRole('link', { name: 'v1', exact: true }) })
      .locator('td[data-label="Vulnerabilities"] a');

    assert.ok(summary.highest);
    assert.match(
      (await link.textContent()) ?? '',
      new RegExp(`^${summary.counts[summary.highest]} CRITICAL`),
    );
    await saveScreenshot(page, 'vulnerability-tag-badges');
    await link.click();
    await page.waitForURL((url) => url.searchParams.get('tab') === 'vulnerabilities');
    assert.equal(
      await page.getByRole('tab', { name: 'Vulnerabilities' }).getAttribute('aria-selected'),
      'true',
    );
    await findingRows(page);
  });

  it('lists the findings of an image as the API does, filtered and searched', async () => {
    const api = await vulnerabilities(wharf, 'team/app', appImage.digest);
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/team/app@${appImage.digest}?tab=vulnerabilities`);

    const packages = await expectRows(page, api.findings.length);

    assert.deepEqual(packages.sort(), ['lodash', 'minimist', 'semver']);

    for (const level of severityOrder) {
      assert.equal(
        await shownValue(page.locator('.severity-counts'), level),
        api.summary.counts[level],
        level,
      );
    }

    for (const finding of api.findings) {
      const row = (await findingRows(page)).filter({ hasText: finding.id });

      assert.equal(await row.count(), 1, finding.id);
      assert.equal(await row.locator('td[data-label="Severity"] .badge').textContent(), finding.severity);
      assert.equal(await row.locator('td[data-label="Installed"]').textContent(), finding.installedVersion);
      assert.equal(
        await row.locator('td[data-label="Fixed in"]').textContent(),
        finding.fixedVersion ?? 'no fix',
      );

      for (const alias of finding.aliases) {
        assert.match((await row.textContent()) ?? '', new RegExp(alias));
      }
    }

    await page.getByText('Operating system').waitFor();
    await saveScreenshot(page, 'vulnerabilities');

    // The severity filter hides the critical minimist finding.
    await page.getByRole('checkbox', { name: 'CRITICAL' }).uncheck();
    assert.deepEqual(
      (
        await expectRows(page, api.findings.filter((finding) => finding.severity !== 'CRITICAL').length)
      ).sort(),
      ['lodash', 'semver'],
    );

    // The search matches package names, and advisory ids and aliases while the filter still applies.
    await page.getByLabel('Search vulnerabilities').fill('LODASH');
    assert.deepEqual(await expectRows(page, 1), ['lodash']);
    await page.getByLabel('Search vulnerabilities').fill('CVE-2021-44906');
    await page.getByText('No findings match the filter').waitFor();
    await page.getByRole('checkbox', { name: 'CRITICAL' }).check();
    assert.deepEqual(await expectRows(page, 1), ['minimist']);
    await page.getByLabel('Search vulnerabilities').fill('GHSA-c2qf');
    assert.deepEqual(await expectRows(page, 1), ['semver']);
    await saveScreenshot(page, 'vulnerabilities-search');

    await page.getByLabel('Search vulnerabilities').fill('no such advisory');
    await page.getByRole('button', { name: 'Show all findings' }).click();
    await expectRows(page, api.findings.length);
    assert.equal(await page.getByLabel('Search vulnerabilities').inputValue(), '');
  });

  it('switches tabs with the arrow keys', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/team/app@${appImage.digest}`);

    const overview = page.getByRole('tab', { name: 'Overview' });
    const findings = page.getByRole('tab', { name: 'Vulnerabilities' });

    await page.getByRole('heading', { name: 'Layers' }).waitFor();
    assert.equal(await overview.getAttribute('aria-selected'), 'true');
    await overview.focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((url) => url.searchParams.get('tab') === 'vulnerabilities');
    assert.equal(await findings.getAttribute('aria-selected'), 'true');
    assert.equal(await findings.and(page.locator(':focus')).count(), 1);
    await findingRows(page);

    // Tab leaves the tab list for the panel, and Home goes back to the first tab.
    await page.keyboard.press('Tab');
    assert.equal(await page.getByRole('tabpanel').and(page.locator(':focus')).count(), 1);
    await findings.focus();
    await page.keyboard.press('Home');
    await page.waitForURL((url) => !url.searchParams.has('tab'));
    await page.getByRole('heading', { name: 'Layers' }).waitFor();
    assert.equal(await overview.and(page.locator(':focus')).count(), 1);
  });

  it('offers the SBOM of the image in SPDX and CycloneDX', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/team/app@${appImage.digest}?tab=vulnerabilities`);

    const spdxLink = page.getByRole('link', { name: 'SPDX 2.3' });
    const cycloneLink = page.getByRole('link', { name: 'CycloneDX 1.5' });

    assert.match((await spdxLink.getAttribute('download')) ?? '', /\.spdx\.json$/);

    const spdx = await getFromPage<{ spdxVersion: string; packages: { name: string }[] }>(
      page,
      (await spdxLink.getAttribute('href')) ?? '',
    );
    const cyclone = await getFromPage<{ bomFormat: string; components: { name: string }[] }>(
      page,
      (await cycloneLink.getAttribute('href')) ?? '',
    );

    assert.equal(spdx.status, 200);
    assert.equal(spdx.body.spdxVersion, 'SPDX-2.3');
    assert.ok(spdx.body.packages.some((entry) => entry.name === 'minimist'));
    assert.equal(cyclone.status, 200);
    assert.equal(cyclone.body.bomFormat, 'CycloneDX');
    assert.ok(cyclone.body.components.some((entry) => entry.name === 'lodash'));
  });

  it('scans again on request and follows the scan to its end', async () => {
    const before = await vulnerabilities(wharf, 'team/app', appImage.digest);
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/team/app@${appImage.digest}?tab=vulnerabilities`);
    await findingRows(page);
    await page.getByRole('button', { name: 'Scan again' }).click();
    await page.getByText(/^Scan of sha256:[0-9a-f]{12} queued$/).waitFor();

    const afterScan = await scanned(
      wharf,
      'team/app',
      appImage.digest,
      (result) => result.images[0].scannedAt !== before.images[0].scannedAt,
    );

    // The tab reads the state again until the scan has ended, without a reload of the page.
    await page.locator(`dd[data-status="done"] time[datetime="${afterScan.images[0].scannedAt}"]`).waitFor();
    await page.getByRole('button', { name: 'Scan again' }).and(page.locator(':enabled')).waitFor();
    await expectRows(page, afterScan.findings.length);
  });

  it('shows index platforms on a dark phone', async () => {
    const api = await vulnerabilities(wharf, 'team/multi', index.digest);
    const page = await newPage({ width: 390, height: 844, colorScheme: 'dark' });

    assert.equal(api.images.length, 2);
    assert.equal(api.findings.length, 6, JSON.stringify(api.findings.map((finding) => finding.id)));
    await signIn(page);
    await page.goto(`/home/repositories/team/multi@${index.digest}?tab=vulnerabilities`);
    await expectRows(page, api.findings.length);

    // The scan names each platform as the image's config does, which may differ from the index entry.
    const platforms = api.images.map((image) =>
      [image.platform?.os, image.platform?.architecture, image.platform?.variant].filter(Boolean).join('/'),
    );
    const platformCells = (await findingRows(page)).locator('td[data-label="Platform"]');

    assert.equal(new Set(platforms).size, 2, JSON.stringify(api.images));
    assert.deepEqual([...new Set(await platformCells.allTextContents())].sort(), [...platforms].sort());

    const scans = page.getByRole('region', { name: 'Scans of the platforms' });

    for (const platform of platforms) {
      await scans.getByText(platform, { exact: true }).waitFor();
    }

    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));

    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px screen`);
    await saveScreenshot(page, 'vulnerabilities-index-phone-dark');
  });

  it('says when an image has no known vulnerabilities', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/team/clean@${cleanImage.digest}?tab=vulnerabilities`);
    await page.getByText('No known vulnerabilities').waitFor();
    await page.getByText(/found no package in this image/).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Vulnerability list' }).count(), 0);
    await saveScreenshot(page, 'vulnerabilities-none');
  });

  it('lists the warnings of a scan that could not read a layer', async () => {
    const api = await vulnerabilities(wharf, 'team/broken', brokenDigest);
    const warnings = api.images[0].warnings;
    const page = await newPage();

    assert.ok(warnings.length > 0, JSON.stringify(api.images));
    await signIn(page);
    await page.goto(`/home/repositories/team/broken@${brokenDigest}?tab=vulnerabilities`);

    const details = page.locator('details.scan-warnings');

    await details
      .locator('summary')
      .getByText(new RegExp(`^${warnings.length} warnings?: parts of the image could not be read`))
      .click();
    assert.deepEqual(await details.locator('li').allTextContents(), warnings);
    await expectRows(page, api.findings.length);
    await saveScreenshot(page, 'vulnerabilities-warnings');
  });

  it('reported no script error, CSP violation or native dialog', () => {
    assert.deepEqual(problems.problems, []);
  });
});

describe('Vulnerabilities tab with scanning turned off', () => {
  let work: string;
  let wharf: WharfServer;
  let browser: Browser;
  let image: Descriptor;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-ui-noscan-'));

    const layout = join(work, 'layout');
    const skopeo = await Skopeo.create(join(work, 'skopeo'));

    image = await writeLayeredImage(layout, 'v1', linuxAmd64, [
      { tar: createTar([{ path: 'etc/os-release', content: await readFile('/etc/os-release') }]) },
    ]);
    wharf = await startWharf({ config: { scanning: { enabled: false } } });
    await skopeo.push(`oci:${layout}:v1`, `docker://${wharf.hostPort}/team/plain:v1`);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await wharf?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('shows no badge, the not-scanned state and why Scan now fails', async () => {
    const context = await newUserContext(browser, wharf.baseUrl);
    const problems = new PageProblems(wharf.baseUrl);
    const page = problems.watch(await context.newPage());

    await page.goto('/home');
    await page.getByRole('link', { name: 'team/plain', exact: true }).waitFor();
    assert.equal(
      await page
        .locator('tr', { has: page.getByRole('link', { name: 'team/plain', exact: true }) })
        .locator('td[data-label="Vulnerabilities"]')
        .textContent(),
      '',
    );

    await page.goto(`/home/repositories/team/plain@${image.digest}?tab=vulnerabilities`);
    await page.getByText('Not scanned yet').waitFor();
    await page.getByRole('button', { name: 'Scan now' }).click();
    await page
      .getByRole('alert')
      .getByText(/scanning is turned off/i)
      .waitFor();
    await saveScreenshot(page, 'vulnerabilities-not-scanned');
    await context.close();

    // Chromium logs the rejected request itself as a console error. Anything else is a problem.
    assert.deepEqual(
      problems.problems.filter((problem) => !/status of 400 \(Bad Request\)/.test(problem)),
      [],
    );
  });
});
