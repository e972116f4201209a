/**
 * The web UI in headless Chromium against a real Wharf: seeded with skopeo, with pull-through traffic
 * from the CNCF Distribution registry, signing in with an htpasswd password and through a real OpenID
 * Provider. Each test saves screenshots of the pages it visits (see test/support/browser.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Browser, BrowserContext, Page } from 'playwright-core';

import { launchChromium, newUserContext, PageProblems, saveScreenshot } from '../support/browser.js';
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream.js';
import {
  createEmptyConfig,
  createImage,
  createManifest,
  createRandomBlob,
  descriptorOf,
  mediaTypes,
  OciClient,
} from '../support/oci-client.js';
import {
  createMultiPlatformLayout,
  createSinglePlatformLayout,
  linuxAmd64,
  linuxArm64,
  resolveTag,
} from '../support/oci-layout.js';
import { freePort } from '../support/free-port.js';
import { type OpenIdProvider, startOpenIdProvider } from '../support/openid-provider.js';
import { Skopeo } from '../support/skopeo.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const issuerPath = '/application/o/wharf/';
/** Passwords of the htpasswd users: alice is an administrator who seeds the registry, bob only reads. */
const passwords = {
  alice: randomBytes(12).toString('base64url'),
  bob: randomBytes(12).toString('base64url'),
};
/** carol signs in through the OpenID Provider; her groups make her an administrator and a developer. */
const providerAccounts = {
  carol: { preferred_username: 'carol', name: 'Carol', groups: ['developers', 'registry-admins'] },
};

interface UpstreamAnswer {
  upstreams: {
    prefix: string;
    cachedRepositories: number;
    storageBytes: number;
    statistics: { hits: number; misses: number; bytesFetched: number; bytesServed: number };
  }[];
}

function htpasswdLine(user: string, password: string): string {
  return execFileSync('/usr/bin/htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim();
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('web UI in Chromium', () => {
  let workDirectory: string;
  let upstream: UpstreamRegistry;
  /** Stands in for Docker Hub, whose pull-quota headers the Distribution registry does not send. */
  let hub: FakeUpstream;
  let provider: OpenIdProvider;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let browser: Browser;
  let problems: PageProblems;
  const contexts: BrowserContext[] = [];
  /** The manifest digest of demo/app:v2, which an SBOM refers to. */
  let v2Digest: string;

  /** Opens a page for a new user, watched for errors, native dialogs and CSP violations. */
  async function newPage(options: Parameters<typeof newUserContext>[2] = {}): Promise<Page> {
    const context = await newUserContext(browser, wharf.baseUrl, options);

    contexts.push(context);

    return problems.watch(await context.newPage());
  }

  /** Signs in on the UI's password form and waits for the repository list. */
  async function signInWithPassword(page: Page, user: keyof typeof passwords): Promise<void> {
    await page.goto('/home');
    await page.waitForURL(/\/home\/sign-in/);
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(passwords[user]);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/home');
    // The app moves focus to the new page once it has rendered; keys pressed before that would be lost.
    await page.locator('#main:focus').waitFor();
  }

  /** Signs carol in through the provider's development login and consent pages. */
  async function signInWithProvider(page: Page): Promise<void> {
    await page.goto('/home/sign-in');
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
    await page.waitForURL((url) => url.origin === provider.origin);
    await page.locator('input[name="login"]').fill('carol');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    // The consent page follows the login page on the first sign-in.
    await page.locator('button[type="submit"]').click();
    await page.waitForURL((url) => url.href.startsWith(`${wharf.baseUrl}/home`));
  }

  /** Calls the API from inside the page, with the session cookie and the CSRF token the UI uses. */
  function apiFromPage<T>(page: Page, method: string, path: string): Promise<{ status: number; body: T }> {
    return page.evaluate(
      async ([requestMethod, requestPath]) => {
        const session = (await (await fetch('/auth/session')).json()) as { csrfToken?: string };
        const response = await fetch(requestPath, {
          method: requestMethod,
          headers: { Accept: 'application/json', 'X-CSRF-Token': session.csrfToken ?? '' },
        });
        const text = await response.text();

        return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
      },
      [method, path] as const,
    );
  }

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-ui-'));
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));
    upstream = await startUpstreamRegistry();
    hub = await startFakeUpstream();
    hub.addImage('library/busybox', '1.36', createImage({ layerCount: 1 }));
    hub.setResponseHeaders({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' });

    const appLayout = join(workDirectory, 'app');
    const multiLayout = join(workDirectory, 'multi');
    const alpineLayout = join(workDirectory, 'alpine');

    await createSinglePlatformLayout(appLayout, 'v2');
    // Three platforms make a list long enough to test wrapping at phone width.
    await createMultiPlatformLayout(multiLayout, 'v1', [
      linuxAmd64,
      linuxArm64,
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
    await createSinglePlatformLayout(alpineLayout, '3.20', linuxArm64);
    await skopeo.push(`oci:${alpineLayout}:3.20`, upstream.dockerReference('library/alpine:3.20'));

    const htpasswdPath = join(workDirectory, 'htpasswd');
    const clientSecretPath = join(workDirectory, 'oidc-client-secret');
    const wharfPort = await freePort();
    const wharfBase = `http://127.0.0.1:${wharfPort}`;
    const clientSecret = randomBytes(24).toString('base64url');

    await writeFile(
      htpasswdPath,
      Object.entries(passwords)
        .map(([user, password]) => htpasswdLine(user, password))
        .join('\n') + '\n',
    );
    await writeFile(clientSecretPath, clientSecret, { mode: 0o600 });
    provider = await startOpenIdProvider({
      issuerPath,
      client: {
        clientId: 'wharf',
        clientSecret,
        redirectUris: [`${wharfBase}/auth/oidc/callback`],
        postLogoutRedirectUris: [`${wharfBase}/home`],
      },
      accounts: providerAccounts,
    });
    wharf = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: wharfPort, externalUrl: wharfBase },
        upstreams: [
          { prefix: 'mirror', url: upstream.url },
          { prefix: 'hub', url: hub.url, dockerHub: true },
        ],
        // Samples every second give the dashboard's charts points within the test's few seconds.
        statistics: { sampleInterval: '1s' },
        auth: {
          htpasswd: { path: htpasswdPath },
          oidc: {
            issuer: provider.issuer,
            clientId: 'wharf',
            clientSecretFile: clientSecretPath,
            scopes: ['openid', 'profile', 'groups'],
          },
        },
        access: {
          repositories: {
            '**': { authenticated: ['read'] },
            // Only the most specific matching glob applies, so this rule repeats the read right of '**'.
            'demo/**': {
              authenticated: ['read'],
              groups: { developers: ['read', 'create', 'update', 'delete'] },
            },
          },
          admins: { users: ['alice'], groups: ['registry-admins'] },
        },
      },
    });

    const seed = ['--dest-creds', `alice:${passwords.alice}`];

    await skopeo.push(`oci:${multiLayout}:v1`, `docker://${wharf.hostPort}/demo/app:v1`, [...seed, '--all']);
    await skopeo.push(`oci:${appLayout}:v2`, `docker://${wharf.hostPort}/demo/app:v2`, seed);
    await skopeo.push(`oci:${appLayout}:v2`, `docker://${wharf.hostPort}/demo/app:old`, seed);
    await skopeo.push(`oci:${appLayout}:v2`, `docker://${wharf.hostPort}/team/tools:1.0`, seed);

    // An SBOM that refers to demo/app:v2, so the image page has a referrer to list.
    v2Digest = (await resolveTag(appLayout, 'v2')).digest;

    const client = new OciClient(wharf.baseUrl, { Authorization: basic('alice', passwords.alice) });
    const sbom = createRandomBlob(512, 'application/spdx+json');
    const emptyConfig = createEmptyConfig();

    await client.pushBlob('demo/app', sbom);
    await client.pushBlob('demo/app', emptyConfig);
    await client.pushManifest(
      'demo/app',
      'sbom',
      createManifest(
        {
          schemaVersion: 2,
          mediaType: mediaTypes.imageManifest,
          artifactType: 'application/spdx+json',
          config: descriptorOf(emptyConfig),
          layers: [descriptorOf(sbom)],
          subject: {
            mediaType: mediaTypes.imageManifest,
            digest: v2Digest,
            size: (await resolveTag(appLayout, 'v2')).size,
          },
        },
        mediaTypes.imageManifest,
      ),
    );

    // Pull-through traffic: the first pull fetches from the upstream, the second is served from the cache.
    const pullCredentials = ['--src-creds', `bob:${passwords.bob}`];

    for (const attempt of [1, 2]) {
      await skopeo.pull(
        `docker://${wharf.hostPort}/mirror/library/alpine:3.20`,
        `oci:${join(workDirectory, `pulled-${attempt}`)}:3.20`,
        pullCredentials,
      );
    }

    const hubPull = await fetch(`${wharf.baseUrl}/v2/hub/busybox/manifests/1.36`, {
      headers: { Authorization: basic('bob', passwords.bob), Accept: mediaTypes.imageManifest },
    });

    await hubPull.arrayBuffer();
    assert.equal(hubPull.status, 200);

    browser = await launchChromium();
    problems = new PageProblems(wharf.baseUrl);
  });

  after(async () => {
    for (const context of contexts) {
      await context.close();
    }

    await browser?.close();
    await wharf?.dispose();
    await provider?.stop();
    await upstream?.dispose();
    await hub?.close();
    await rm(workDirectory, { recursive: true, force: true });
  });

  it('sends a signed-out visitor to the sign-in page, without a Basic-auth prompt', async () => {
    const page = await newPage();

    await page.goto('/home/repositories/demo/app');
    await page.waitForURL(/\/home\/sign-in/);
    assert.equal(new URL(page.url()).searchParams.get('returnTo'), '/home/repositories/demo/app');
    await page.getByRole('button', { name: 'Sign in with single sign-on' }).waitFor();
    await saveScreenshot(page, 'sign-in');

    const answer = await page.evaluate(async () => {
      const response = await fetch('/api/v1/repositories');

      return { status: response.status, challenge: response.headers.get('www-authenticate') };
    });

    assert.deepEqual(answer, { status: 401, challenge: null });

    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page
      .getByText(/wrong|invalid|incorrect/i)
      .first()
      .waitFor();
  });

  it('lists, searches and filters repositories', async () => {
    const page = await newPage();

    await signInWithPassword(page, 'bob');

    const table = page.getByRole('table');

    for (const name of ['demo/app', 'team/tools', 'mirror/library/alpine']) {
      await table.getByRole('link', { name, exact: true }).waitFor();
    }

    await saveScreenshot(page, 'repositories');

    await page.getByLabel('Search repositories').fill('tool');
    await page.waitForURL(/[?&]q=tool/);
    await table.getByRole('link', { name: 'demo/app', exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(await table.getByRole('link').allTextContents(), ['team/tools']);
    await page.getByText('1 repository', { exact: true }).waitFor();

    await page.getByLabel('Search repositories').fill('');
    await table.getByRole('link', { name: 'demo/app', exact: true }).waitFor();
    await page.getByLabel('Kind').selectOption({ label: 'Cached' });
    await table.getByRole('link', { name: 'demo/app', exact: true }).waitFor({ state: 'detached' });
    assert.deepEqual(await table.getByRole('link').allTextContents(), [
      'hub/library/busybox',
      'mirror/library/alpine',
    ]);

    await page.getByLabel('Kind').selectOption({ label: 'Local' });
    await table
      .getByRole('link', { name: 'mirror/library/alpine', exact: true })
      .waitFor({ state: 'detached' });
    assert.deepEqual((await table.getByRole('link').allTextContents()).sort(), ['demo/app', 'team/tools']);
  });

  it('works by keyboard at phone width', async () => {
    const page = await newPage({ width: 390, height: 844, colorScheme: 'dark' });

    await signInWithPassword(page, 'bob');

    for (let step = 0; step < 30; step++) {
      await page.keyboard.press('Tab');

      if ((await page.getByLabel('Search repositories').and(page.locator(':focus')).count()) === 1) {
        break;
      }
    }

    assert.equal(await page.getByLabel('Search repositories').and(page.locator(':focus')).count(), 1);

    await page.keyboard.type('app');
    await page.waitForURL(/[?&]q=app/);
    await page.getByRole('link', { name: 'demo/app', exact: true }).waitFor();

    for (let step = 0; step < 30; step++) {
      await page.keyboard.press('Tab');

      const focused = (await page.locator(':focus').textContent())?.trim();

      if (focused === 'demo/app') {
        break;
      }
    }

    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === '/home/repositories/demo/app');

    // The test's TypeScript has no DOM library, so code that runs in the page is passed as text.
    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));

    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px screen`);
    await page.getByRole('cell', { name: 'v1', exact: true }).waitFor();

    const clipped = await page.evaluate(
      `[...document.querySelectorAll('td')].filter((cell) => cell.scrollWidth > cell.clientWidth).length`,
    );

    assert.equal(clipped, 0, 'a table cell is cut off at phone width');
    await saveScreenshot(page, 'repository-phone-dark');
  });

  it('copies the pull command as a reader', async () => {
    const page = await newPage();

    await signInWithPassword(page, 'bob');
    await page.getByRole('link', { name: 'demo/app', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/home/repositories/demo/app');

    for (const tag of ['old', 'v1', 'v2', 'sbom']) {
      await page.getByRole('link', { name: tag, exact: true }).waitFor();
    }

    const command = page.getByLabel('Pull command');

    await command.getByRole('button', { name: 'Copy' }).click();

    const shownCommand = (await command.locator('code').textContent())?.trim();
    const copied = await page.evaluate('navigator.clipboard.readText()');

    assert.match(
      shownCommand ?? '',
      new RegExp(`^docker pull ${wharf.hostPort.replace('.', '\\.')}/demo/app:[a-z0-9]+$`),
    );
    assert.equal(copied, shownCommand);
    assert.equal(await page.getByRole('button', { name: /^Delete tag/ }).count(), 0);
    await saveScreenshot(page, 'repository');

    const denied = await apiFromPage<{ errors: { code: string }[] }>(
      page,
      'DELETE',
      '/api/v1/repositories/demo%2Fapp/tags/old',
    );

    assert.equal(denied.status, 403);
    assert.equal(denied.body.errors[0].code, 'DENIED');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/home\/sign-in/);

    const session = await apiFromPage<{ authenticated: boolean }>(page, 'GET', '/auth/session');

    assert.equal(session.body.authenticated, false);
  });

  it('says when a session has ended', async () => {
    const page = await newPage();

    await signInWithPassword(page, 'bob');

    // The session ends behind the page's back, as when it expires or is signed out in another tab.
    const ended = await apiFromPage<{ redirectTo: string }>(page, 'POST', '/auth/logout');

    assert.equal(ended.status, 200);
    await page.getByRole('link', { name: 'Cache', exact: true }).click();
    await page.waitForURL(/\/home\/sign-in\?.*ended=1/);
    await page.getByText('Your session has ended').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('returnTo'), '/home/cache');
  });

  it('shows an index, the image of one platform and its referrers', async () => {
    const page = await newPage();

    await signInWithPassword(page, 'bob');
    await page.goto('/home/repositories/demo/app');
    await page.getByRole('link', { name: 'v1', exact: true }).click();
    await page.waitForURL(/\/home\/repositories\/demo\/app@sha256:/);
    await page.getByRole('link', { name: /linux\/amd64/ }).waitFor();
    await page.getByRole('link', { name: /linux\/arm64\/v8/ }).click();
    await page.getByRole('heading', { name: /Layers/ }).waitFor();
    await page.getByRole('heading', { name: /History/ }).waitFor();
    await saveScreenshot(page, 'image');

    await page.goto(`/home/repositories/demo/app@${v2Digest}`);
    await page.getByText('SPDX SBOM').first().waitFor();
    await saveScreenshot(page, 'image-referrers');
  });

  it('shows cache numbers that match the admin API', async () => {
    const page = await newPage();

    await signInWithPassword(page, 'bob');
    await page.getByRole('link', { name: 'Cache', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/home/cache');

    const api = await apiFromPage<UpstreamAnswer>(page, 'GET', '/api/v1/upstreams');
    const mirror = api.body.upstreams.find((entry) => entry.prefix === 'mirror');

    assert.ok(mirror, 'the admin API lists the mirror upstream');
    assert.ok(mirror.statistics.hits > 0, JSON.stringify(mirror));
    assert.ok(mirror.statistics.misses > 0, JSON.stringify(mirror));

    const card = page.getByRole('region', { name: /mirror/ });

    /** Returns the raw number behind the value labelled `term` on the mirror's card. */
    async function shownValue(term: string): Promise<number> {
      const value = card
        .locator('dt', { hasText: new RegExp(`^${term}$`) })
        .locator('xpath=following-sibling::dd[1]');

      return Number(await value.getAttribute('data-value'));
    }

    assert.equal(await shownValue('Hits'), mirror.statistics.hits);
    assert.equal(await shownValue('Misses'), mirror.statistics.misses);
    assert.equal(await shownValue('Requests'), mirror.statistics.hits + mirror.statistics.misses);
    assert.equal(
      await shownValue('Hit ratio'),
      mirror.statistics.hits / (mirror.statistics.hits + mirror.statistics.misses),
    );
    assert.equal(await shownValue('Served from cache'), mirror.statistics.bytesServed);
    assert.equal(await shownValue('Fetched from upstream'), mirror.statistics.bytesFetched);
    assert.equal(await shownValue('Cached repositories'), mirror.cachedRepositories);
    assert.equal(await shownValue('Storage used'), mirror.storageBytes);

    // Docker Hub's pull quota, from the headers of the hub upstream's last response.
    const quota = page
      .getByRole('region', { name: /hub/ })
      .locator('dt', { hasText: 'Rate limit remaining' })
      .locator('xpath=following-sibling::dd[1]');

    const quotaValues = quota.locator('[data-value]');

    assert.equal(await quotaValues.nth(0).getAttribute('data-value'), '76');
    assert.equal(await quotaValues.nth(1).getAttribute('data-value'), '100');
    assert.match((await quota.textContent()) ?? '', /76.*100.*6 h/);

    // Every request was made after the first sample, so the range's intervals add up to the totals
    // of all upstreams, which the charts show together.
    const hits = api.body.upstreams.reduce((sum, entry) => sum + entry.statistics.hits, 0);
    const misses = api.body.upstreams.reduce((sum, entry) => sum + entry.statistics.misses, 0);

    await page
      .getByRole('img', { name: `Requests per interval. ${hits} hits and ${misses} misses in this range.` })
      .waitFor();
    await saveScreenshot(page, 'cache');
  });

  it('manages API keys after an OIDC sign-in', async () => {
    const page = await newPage();

    await signInWithProvider(page);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.getByRole('link', { name: 'API keys', exact: true }).click();
    await page.getByLabel('Label', { exact: true }).fill('laptop');
    await page.getByRole('button', { name: 'Create key' }).click();

    const secretField = page.getByLabel('New API key');
    const secret = await secretField.inputValue();

    assert.match(secret, /\S{20,}/);
    await page.getByText(`docker login ${wharf.hostPort} -u carol`).first().waitFor();
    await saveScreenshot(page, 'api-keys', [secretField]);

    // The login line shown for skopeo works as printed, with the key given as the password.
    const skopeoLogin = (await page.getByLabel('Skopeo login command').locator('code').textContent()) ?? '';

    assert.equal(skopeoLogin, `skopeo login --tls-verify=false ${wharf.hostPort} -u carol`);
    await skopeo.run([], 'login', [...skopeoLogin.split(' ').slice(2), '-p', secret]);

    const layout = join(workDirectory, 'keyed');

    await createSinglePlatformLayout(layout, '1');
    await skopeo.push(`oci:${layout}:1`, `docker://${wharf.hostPort}/demo/keyed:1`, [
      '--dest-creds',
      `carol:${secret}`,
    ]);
    await skopeo.inspect(`docker://${wharf.hostPort}/demo/keyed:1`, ['--creds', `carol:${secret}`]);

    await page.reload();

    const keyRow = page.getByRole('row', { name: /laptop/ });

    // The key was used by skopeo a moment ago.
    assert.doesNotMatch((await keyRow.locator('td[data-label="Last used"]').textContent()) ?? '', /never/);
    await page.getByRole('button', { name: 'Revoke laptop' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke laptop' }).waitFor({ state: 'detached' });

    const rejection = await skopeo.runExpectingFailure('inspect', [
      '--tls-verify=false',
      '--creds',
      `carol:${secret}`,
      `docker://${wharf.hostPort}/demo/keyed:1`,
    ]);

    assert.match(rejection, /401|unauthorized|authentication required/i);
  });

  it('deletes a tag as an administrator after confirmation', async () => {
    const page = await newPage();

    await signInWithProvider(page);
    await page.goto('/home/repositories/demo/app');
    await page.getByRole('button', { name: 'Delete tag old' }).click();

    const dialog = page.getByRole('dialog');

    await dialog.getByText('old').first().waitFor();
    await saveScreenshot(page, 'delete-tag');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Keyboard users continue at the button that opened the dialog. Focus returns once the dialog has
    // closed, so the check waits for it rather than reading it at once.
    await page.getByRole('button', { name: 'Delete tag old' }).and(page.locator(':focus')).waitFor();
    assert.equal(
      await page.getByRole('button', { name: 'Delete tag old' }).and(page.locator(':focus')).count(),
      1,
    );

    await page.getByRole('button', { name: 'Delete tag old' }).click();
    await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('link', { name: 'old', exact: true }).waitFor({ state: 'detached' });
    assert.equal(await page.locator('main:focus').count(), 1, 'focus should move to the page after a delete');
    // The repository's own counts follow the list.
    await page
      .locator('dt', { hasText: /^Tags$/ })
      .locator('xpath=following-sibling::dd[1][@data-value="3"]')
      .waitFor();

    const tags = await fetch(`${wharf.baseUrl}/v2/demo/app/tags/list`, {
      headers: { Authorization: basic('alice', passwords.alice) },
    });

    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags.sort(), ['sbom', 'v1', 'v2']);
  });

  it('reported no script error, CSP violation or native dialog', () => {
    assert.deepEqual(problems.problems, []);
  });
});

describe('web UI of an empty registry without authentication', () => {
  let wharf: WharfServer;
  let browser: Browser;

  before(async () => {
    wharf = await startWharf();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await wharf?.dispose();
  });

  it('explains how to push the first image', async () => {
    const context = await newUserContext(browser, wharf.baseUrl);
    const problems = new PageProblems(wharf.baseUrl);
    const page = problems.watch(await context.newPage());

    await page.goto('/');
    await page.waitForURL((url) => url.pathname === '/home');
    await page.getByText(`docker://${wharf.hostPort}/`).first().waitFor();
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 0);
    await saveScreenshot(page, 'empty-registry');
    await context.close();
    assert.deepEqual(problems.problems, []);
  });
});
