/**
 * The signature badges and the Signatures tab in headless Chromium against a real Wharf. The images
 * of prod/app are pushed with skopeo and signed here. One is signed with cosign by a configured ECDSA
 * key, one with Notation by the leaf of a trusted openssl test CA, one with cosign by a key Wharf does
 * not trust, and one is not signed. A signed index lets through an unsigned image it lists. Everything the pages show is
 * compared with the admin API's response.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';

import { launchChromium, newUserContext, PageProblems, saveScreenshot } from '../support/browser.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import {
  type Descriptor,
  initOciLayout,
  linuxAmd64,
  tagInLayout,
  writeImage,
  writeImageIndex,
} from '../support/oci-layout.js';
import {
  cosignSign,
  cosignSignatureAnnotation,
  createTestPki,
  notationJws,
  simpleSigningPayload,
  writeCosignSignature,
  writeNotationSignature,
} from '../support/signing-material.js';
import { Skopeo } from '../support/skopeo.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface Signature {
  kind: string;
  manifest: string;
  verified: boolean;
  reason?: string;
  signer?: string;
  signingTime?: string;
  notes: string[];
}

interface Verdict {
  state: 'verified' | 'unverified' | 'unsigned';
  verifiedThroughIndex: boolean;
  required: boolean;
  current: boolean;
  signatures: Signature[];
}

interface TagItem {
  name: string;
  digest: string;
  artifactType: string | null;
  signature: { state: string; signer?: string };
}

/** alice is an administrator who pushes, and bob may only read. */
const passwords = {
  alice: randomBytes(12).toString('base64url'),
  bob: randomBytes(12).toString('base64url'),
};
const repository = 'prod/app';
const verdictDeadlineMs = 15_000;
const badgeLabels: Record<string, string> = {
  verified: 'verified',
  unverified: 'not verified',
  unsigned: 'unsigned',
};

/** Returns the API path of an image's signatures. */
function signaturesPath(digest: string): string {
  return `/api/v1/repositories/${encodeURIComponent(repository)}/manifests/${digest}/signatures`;
}

/** Returns the sentence the tab states a verdict in, from the API's response alone. */
function expectedVerdictText(verdict: Verdict): string {
  const signer = verdict.signatures.find((signature) => signature.verified)?.signer;

  if (verdict.state === 'verified') {
    return signer === undefined ? 'Verified' : `Verified by ${signer}`;
  }

  return verdict.state === 'unverified' ? 'Signed, but no signature verified' : 'Unsigned';
}

describe('Signature badges and Signatures tab in Chromium', () => {
  let work: string;
  let layout: string;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let browser: Browser;
  let problems: PageProblems;
  const contexts: BrowserContext[] = [];
  const images: Record<string, Descriptor> = {};
  /** The image the signed index lists, which has no signature of its own. */
  let indexChild: Descriptor;
  let trustedKey: KeyObject;

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
  async function getFromPage<T>(page: Page, path: string): Promise<T> {
    const response = await page.evaluate(async (requestPath) => {
      const answer = await fetch(requestPath, { headers: { Accept: 'application/json' } });

      return { status: answer.status, body: await answer.json() };
    }, path);

    assert.equal(response.status, 200, JSON.stringify(response.body));

    return response.body as T;
  }

  async function verdict(digest: string): Promise<Verdict> {
    const response = await fetch(`${wharf.baseUrl}${signaturesPath(digest)}`, {
      headers: { Authorization: basicAuthorization('alice', passwords.alice) },
    });

    assert.equal(response.status, 200, await response.clone().text());

    return (await response.json()) as Verdict;
  }

  /** Waits, for at most 15 s, until the image's verdict is current and has `state`, because signatures are checked after the push returns. */
  async function verdictIs(digest: string, state: Verdict['state']): Promise<Verdict> {
    const deadline = Date.now() + verdictDeadlineMs;
    let result = await verdict(digest);

    while ((result.state !== state || !result.current) && Date.now() < deadline) {
      await sleep(100);
      result = await verdict(digest);
    }

    assert.equal(result.state, state, `verdict of ${digest}: ${JSON.stringify(result, null, 2)}`);

    return result;
  }

  async function push(tag: string, destination: string, options: readonly string[] = []): Promise<void> {
    await skopeo.push(`oci:${layout}:${tag}`, `docker://${wharf.hostPort}/${destination}`, [
      ...options,
      '--preserve-digests',
      '--dest-creds',
      `alice:${passwords.alice}`,
    ]);
  }

  /** Writes a small image of its own into the layout under `tag`. */
  async function image(tag: string): Promise<Descriptor> {
    const written = await writeImage(layout, linuxAmd64, [
      [{ path: 'etc/wharf-image', content: Buffer.from(`${tag} ${randomBytes(8).toString('hex')}\n`) }],
    ]);

    await tagInLayout(layout, tag, written.manifest);

    return written.manifest;
  }

  /** Signs a digest as cosign does and pushes the signature under `sha256-<hex>.sig`. */
  async function pushCosignSignature(digest: string, key: KeyObject): Promise<void> {
    const payload = simpleSigningPayload(`${wharf.hostPort}/${repository}`, digest);
    const tag = `sig-${randomBytes(4).toString('hex')}`;

    await writeCosignSignature(layout, tag, [
      { payload, annotations: { [cosignSignatureAnnotation]: cosignSign(key, payload) } },
    ]);
    await push(tag, `${repository}:${digest.replace(':', '-')}.sig`);
  }

  /** Returns the Signature cell of a tag's row in the tag table. */
  function signatureCell(page: Page, tag: string): Locator {
    return page
      .locator('tr', { has: page.getByRole('link', { name: tag, exact: true }) })
      .locator('td[data-label="Signature"]');
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-ui-signing-'));
    layout = join(work, 'layout');
    await initOciLayout(layout);
    skopeo = await Skopeo.create(join(work, 'skopeo'));

    const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const untrusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPath = join(work, 'release.pub');

    trustedKey = trusted.privateKey;
    await writeFile(keyPath, trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString());

    const release = await createTestPki(work, 'release');
    const htpasswd = join(work, 'htpasswd');

    await writeHtpasswd(htpasswd, passwords);
    wharf = await startWharf({
      config: {
        auth: { htpasswd: { path: htpasswd } },
        access: {
          repositories: { '**': { authenticated: ['read'] } },
          admins: { users: ['alice'] },
        },
        signing: {
          cosign: { publicKeys: [keyPath] },
          notation: { trustStores: { 'ca:release': [release.rootPath] } },
          policies: [{ repositories: 'prod/**' }],
        },
      },
    });

    for (const tag of ['cosign', 'notation', 'stranger', 'unsigned']) {
      images[tag] = await image(tag);
      await push(tag, `${repository}:${tag}`);
    }

    await pushCosignSignature(images.cosign.digest, trusted.privateKey);
    await pushCosignSignature(images.stranger.digest, untrusted.privateKey);
    await writeNotationSignature(
      layout,
      'notation-signature',
      images.notation,
      notationJws(images.notation, release),
    );
    await push('notation-signature', `${repository}:notation-signature`);

    // An index signed with the trusted key, listing an image that has no signature of its own.
    indexChild = await image('index-child');
    images.multi = await writeImageIndex(layout, [{ ...indexChild, platform: linuxAmd64 }]);
    await tagInLayout(layout, 'multi', images.multi);
    await push('multi', `${repository}:multi`, ['--all']);
    await pushCosignSignature(images.multi.digest, trustedKey);

    await verdictIs(images.cosign.digest, 'verified');
    await verdictIs(images.notation.digest, 'verified');
    await verdictIs(images.stranger.digest, 'unverified');
    await verdictIs(images.multi.digest, 'verified');

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

  it('badges each image tag as the API does', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/${repository}`);

    const listing = await getFromPage<{ items: TagItem[] }>(
      page,
      `/api/v1/repositories/${encodeURIComponent(repository)}/tags?pageSize=50`,
    );
    const states = Object.fromEntries(listing.items.map((item) => [item.name, item.signature.state]));

    assert.deepEqual(
      {
        cosign: states.cosign,
        notation: states.notation,
        stranger: states.stranger,
        unsigned: states.unsigned,
      },
      { cosign: 'verified', notation: 'verified', stranger: 'unverified', unsigned: 'unsigned' },
    );

    for (const tag of ['cosign', 'notation', 'stranger', 'unsigned', 'multi']) {
      const item = listing.items.find((entry) => entry.name === tag);

      assert.ok(item, `the API lists ${tag}`);

      const badge = signatureCell(page, tag).locator('.badge');
      const label = badgeLabels[item.signature.state];

      assert.equal(await badge.getAttribute('data-state'), item.signature.state, tag);
      assert.equal(
        await badge.textContent(),
        item.signature.signer === undefined ? label : `${label} by ${item.signature.signer}`,
        tag,
      );
      assert.match(
        (await signatureCell(page, tag).locator('a').getAttribute('href')) ?? '',
        /[?&]tab=signatures(&|$)/,
        tag,
      );
    }

    // The signatures themselves are artifacts: listed, but without a badge.
    const signatureTags = listing.items.filter(
      (item) => item.name.endsWith('.sig') || item.name === 'notation-signature',
    );

    assert.equal(signatureTags.length, 4, JSON.stringify(listing.items.map((item) => item.name)));

    for (const item of signatureTags) {
      assert.equal(await signatureCell(page, item.name).textContent(), '', item.name);
    }

    assert.equal(
      await signatureCell(page, 'cosign').locator('.badge').getAttribute('title'),
      'Verified by release.pub',
    );
    await saveScreenshot(page, 'signatures-badges');

    await signatureCell(page, 'stranger').locator('a').click();
    await page.waitForURL((url) => url.searchParams.get('tab') === 'signatures');
    assert.equal(await page.getByRole('tab', { name: 'Signatures' }).getAttribute('aria-selected'), 'true');
    await page.getByRole('region', { name: 'Signature list' }).waitFor();
  });

  it('shows verdict, signers, reasons and notes as the API does', async () => {
    const page = await newPage();

    await signIn(page);

    for (const tag of ['cosign', 'notation', 'stranger']) {
      const digest = images[tag].digest;
      const api = await getFromPage<Verdict>(page, signaturesPath(digest));

      await page.goto(`/home/repositories/${repository}@${digest}?tab=signatures&tag=${tag}`);

      const rows = page.getByRole('region', { name: 'Signature list' }).locator('tbody tr');

      await rows.first().waitFor();
      assert.equal(
        await page.locator('.signature-verdict-text').textContent(),
        expectedVerdictText(api),
        tag,
      );
      assert.equal(api.required, true);
      assert.match(
        (await page.locator('.signature-policy').textContent()) ?? '',
        /^Pulls of this repository require a verified signature\./,
      );
      assert.equal(await rows.count(), api.signatures.length, tag);

      for (const signature of api.signatures) {
        const row = rows.and(page.locator(`[data-manifest="${signature.manifest}"]`));

        assert.equal(
          await row.locator('td[data-label="Signer"]').textContent(),
          signature.signer ?? '—',
          tag,
        );
        assert.equal(
          await row.locator('td[data-label="Result"] .badge').getAttribute('data-state'),
          signature.verified ? 'verified' : 'unverified',
          tag,
        );
        assert.deepEqual(
          await row.locator('.signature-reason').allTextContents(),
          signature.reason === undefined ? [] : [signature.reason],
          tag,
        );
        assert.deepEqual(await row.locator('.signature-notes li').allTextContents(), signature.notes, tag);

        if (signature.signingTime !== undefined) {
          assert.equal(
            await row.locator('td[data-label="Signed"] time').getAttribute('datetime'),
            signature.signingTime,
            tag,
          );
        }
      }

      if (tag === 'notation') {
        const notes = api.signatures.flatMap((signature) => signature.notes);

        assert.ok(notes.includes('certificate revocation was not checked'), JSON.stringify(api.signatures));
        await saveScreenshot(page, 'signatures-tab');
      }

      if (tag === 'stranger') {
        assert.ok(
          api.signatures.every((signature) => !signature.verified && signature.reason),
          JSON.stringify(api),
        );
        assert.match(
          (await page.locator('.signature-policy').textContent()) ?? '',
          /This image has none, so Wharf refuses to serve it\.$/,
        );
      }
    }
  });

  it('explains how to sign an unsigned image', async () => {
    const digest = images.unsigned.digest;
    const page = await newPage();

    await signIn(page);

    const api = await getFromPage<Verdict>(page, signaturesPath(digest));

    assert.equal(api.state, 'unsigned');
    assert.deepEqual(api.signatures, []);
    await page.goto(`/home/repositories/${repository}@${digest}?tab=signatures`);
    await page.getByText('No signatures', { exact: true }).waitFor();
    assert.equal(await page.locator('.signature-verdict-text').textContent(), 'Unsigned');

    const reference = `${wharf.hostPort}/${repository}@${digest}`;

    assert.equal(
      await page.getByRole('group', { name: 'cosign command' }).locator('code').textContent(),
      `cosign sign --key cosign.key ${reference}`,
    );
    assert.equal(
      await page.getByRole('group', { name: 'Notation command' }).locator('code').textContent(),
      `notation sign ${reference}`,
    );
    await page.getByText('PUT /api/v1/signing/cosign/keys/{name}').waitFor();
    assert.equal(await page.getByRole('region', { name: 'Signature list' }).count(), 0);
    await saveScreenshot(page, 'signatures-unsigned');
  });

  it('says when a signed index lets an image through', async () => {
    const api = await verdict(indexChild.digest);
    const page = await newPage();

    assert.equal(api.state, 'unsigned');
    assert.equal(api.verifiedThroughIndex, true);
    await signIn(page);
    await page.goto(`/home/repositories/${repository}@${indexChild.digest}?tab=signatures`);
    await page.getByText('No signatures', { exact: true }).waitFor();
    assert.match(
      (await page.locator('.signature-policy').textContent()) ?? '',
      /An index in this repository that lists this image has a verified signature, so pulls of this image pass\./,
    );
  });

  it('switches to the Signatures tab with the keyboard', async () => {
    const page = await newPage();

    await signIn(page);
    await page.goto(`/home/repositories/${repository}@${images.cosign.digest}`);

    const overview = page.getByRole('tab', { name: 'Overview' });
    const signatures = page.getByRole('tab', { name: 'Signatures' });

    await page.getByRole('heading', { name: 'Layers' }).waitFor();
    await overview.focus();
    await page.keyboard.press('End');
    await page.waitForURL((url) => url.searchParams.get('tab') === 'signatures');
    assert.equal(await signatures.getAttribute('aria-selected'), 'true');
    assert.equal(await signatures.and(page.locator(':focus')).count(), 1);
    await page.getByRole('region', { name: 'Signature list' }).waitFor();

    // The arrow keys wrap around: right from the last tab opens Overview.
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((url) => !url.searchParams.has('tab'));
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((url) => url.searchParams.get('tab') === 'signatures');
    await page.keyboard.press('Tab');
    assert.equal(await page.getByRole('tabpanel').and(page.locator(':focus')).count(), 1);
  });

  it('fits a phone in the dark theme', async () => {
    const digest = images.notation.digest;
    const page = await newPage({ width: 390, height: 844, colorScheme: 'dark' });

    await signIn(page);
    await page.goto(`/home/repositories/${repository}@${digest}?tab=signatures`);
    await page.getByRole('region', { name: 'Signature list' }).locator('tbody tr').first().waitFor();
    assert.equal(await page.evaluate('document.documentElement.dataset.theme'), 'dark');

    const overflow = Number(await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'));

    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 390 px screen`);
    await saveScreenshot(page, 'signatures-phone-dark');

    await page.goto(`/home/repositories/${repository}`);
    await signatureCell(page, 'stranger').locator('.badge').waitFor();

    const tableOverflow = Number(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    );

    assert.ok(tableOverflow <= 0, `the tag list is ${tableOverflow} px wider than a 390 px screen`);
  });

  it('reported no script error, CSP violation or native dialog', () => {
    assert.deepEqual(problems.problems, []);
  });
});
