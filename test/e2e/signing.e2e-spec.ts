import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { findPackage } from '../../src/common/package-info.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import {
  createMultiPlatformLayout,
  type Descriptor,
  initOciLayout,
  linuxAmd64,
  linuxArm64,
  tagInLayout,
  writeImage,
} from '../support/oci-layout.js';
import {
  cosignSign,
  cosignSignatureAnnotation,
  createTestPki,
  notationJws,
  readStoredCosignSignature,
  sigstoreBundle,
  simpleSigningPayload,
  type TestPki,
  writeBundleReferrer,
  writeCosignSignature,
  writeNotationSignature,
} from '../support/signing-material.js';
import { Skopeo } from '../support/skopeo.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface Signature {
  kind: string;
  manifest: string;
  tag?: string;
  verified: boolean;
  reason?: string;
  signer?: string;
  signingTime?: string;
  notes: string[];
}

interface Verdict {
  state: string;
  artifact: boolean;
  signatures: Signature[];
  current: boolean;
  required: boolean;
  verifiedThroughIndex: boolean;
}

interface Trust {
  cosign: { keys: { name: string; source: string; createdBy?: string }[] };
  notation: {
    trustStores: { name: string; certificates: { name: string; source: string; subject: string }[] }[];
    trustPolicy: { source: string };
  };
}

const admin = { user: 'admin', password: randomBytes(12).toString('base64url') };
const reader = { user: 'reader', password: randomBytes(12).toString('base64url') };
const adminAuth = basicAuthorization(admin.user, admin.password);
const readerAuth = basicAuthorization(reader.user, reader.password);
const root = findPackage(import.meta.url).root;
const cosignFixtures = join(root, 'test', 'fixtures', 'cosign');
const notationFixtures = join(root, 'test', 'fixtures', 'notation');
const verdictDeadlineMs = 15_000;

/** The digests the containers/image fixture signatures name. */
const fixtureImage = 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00';
const notationImage = 'sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9';

function publicPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Image signing end to end, against a real Wharf, skopeo and the Debian `docker-registry` as an
 * upstream: the real cosign and notation fixtures, signatures made here with node crypto and an openssl
 * test CA, the pull policy, trust uploads through the admin API, an `onlySigned` upstream, bad
 * signatures and the metrics.
 */
describe('image signing', () => {
  let work: string;
  let layout: string;
  let wharf: WharfServer;
  let upstream: UpstreamRegistry;
  let skopeo: Skopeo;
  let release: TestPki;
  let stranger: TestPki;
  const keys: Record<string, { privateKey: KeyObject; publicKey: KeyObject }> = {};
  const images: Record<string, Descriptor> = {};
  let reloadKeyPath: string;

  async function api(path: string, init: RequestInit = {}, authorization = adminAuth): Promise<Response> {
    return fetch(`${wharf.baseUrl}${path}`, {
      ...init,
      headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
    });
  }

  function signaturesPath(repository: string, digest: string): string {
    return `/api/v1/repositories/${encodeURIComponent(repository)}/manifests/${digest}/signatures`;
  }

  async function verdict(repository: string, digest: string): Promise<Verdict> {
    const response = await api(signaturesPath(repository, digest));

    assert.equal(response.status, 200, await response.clone().text());

    return (await response.json()) as Verdict;
  }

  /**
   * Waits until the image's verdict has `state` (and `count` signatures, when given), because
   * signatures are checked after the push response.
   */
  async function verdictIs(
    repository: string,
    digest: string,
    state: string,
    count?: number,
  ): Promise<Verdict> {
    const deadline = Date.now() + verdictDeadlineMs;
    const done = (result: Verdict) =>
      result.state === state && result.current && (count === undefined || result.signatures.length === count);
    let result = await verdict(repository, digest);

    while (!done(result) && Date.now() < deadline) {
      await sleep(100);
      result = await verdict(repository, digest);
    }

    assert.equal(
      result.state,
      state,
      `verdict of ${repository}@${digest}: ${JSON.stringify(result, null, 2)}`,
    );

    return result;
  }

  async function push(tag: string, destination: string): Promise<void> {
    await skopeo.push(`oci:${layout}:${tag}`, `docker://${wharf.hostPort}/${destination}`, [
      '--preserve-digests',
      '--dest-creds',
      `${admin.user}:${admin.password}`,
    ]);
  }

  /** Writes a small image of its own into the layout under `tag`. */
  async function image(tag: string): Promise<Descriptor> {
    const written = await writeImage(layout, linuxAmd64, [
      [{ path: 'etc/wharf-image', content: Buffer.from(`${tag} ${randomBytes(8).toString('hex')}\n`) }],
    ]);
    const descriptor = { ...written.manifest, platform: undefined };

    await tagInLayout(layout, tag, written.manifest);
    images[tag] = descriptor;

    return descriptor;
  }

  /** Signs an image as cosign does and pushes the signature under `sha256-<hex>.sig`. */
  async function pushCosignSignature(
    repository: string,
    subject: string,
    key: KeyObject,
    payloadDigest = subject,
  ) {
    const payload = simpleSigningPayload(`${wharf.hostPort}/${repository}`, payloadDigest);
    const tag = `sig-${randomBytes(4).toString('hex')}`;

    await writeCosignSignature(layout, tag, [
      { payload, annotations: { [cosignSignatureAnnotation]: cosignSign(key, payload) } },
    ]);
    await push(tag, `${repository}:${subject.replace(':', '-')}.sig`);
  }

  async function pushReferrer(tag: string, repository: string): Promise<void> {
    await push(tag, `${repository}:${tag}`);
  }

  function pull(reference: string, options: readonly string[] = []): Promise<string> {
    return skopeo.pull(
      `docker://${wharf.hostPort}/${reference}`,
      `oci:${join(work, 'pulled')}:${randomBytes(4).toString('hex')}`,
      ['--src-creds', `${reader.user}:${reader.password}`, ...options],
    );
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-signing-'));
    layout = join(work, 'layout');
    await initOciLayout(layout);

    for (const [name, type] of [
      ['ecdsa', 'ec'],
      ['rsa', 'rsa'],
      ['ed25519', 'ed25519'],
      ['uploaded', 'ec'],
      ['reloaded', 'ec'],
    ] as const) {
      keys[name] =
        type === 'ec'
          ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
          : type === 'rsa'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 })
            : generateKeyPairSync('ed25519');
    }

    const keyFiles = [];

    for (const name of ['ecdsa', 'rsa', 'ed25519']) {
      const path = join(work, `${name}.pub`);

      await writeFile(path, publicPem(keys[name].publicKey));
      keyFiles.push(path);
    }

    // A key file whose content the test replaces before Wharf reads it again.
    reloadKeyPath = join(work, 'rotating.pub');
    await writeFile(reloadKeyPath, publicPem(keys.ecdsa.publicKey));

    release = await createTestPki(work, 'release');
    stranger = await createTestPki(work, 'stranger');

    const htpasswd = join(work, 'htpasswd');

    await writeHtpasswd(htpasswd, { [admin.user]: admin.password, [reader.user]: reader.password });
    skopeo = await Skopeo.create(join(work, 'skopeo'));
    upstream = await startUpstreamRegistry();
    await mkdir(join(work, 'data'));
    wharf = await startWharf({
      rootDirectory: join(work, 'data'),
      config: {
        auth: { htpasswd: { path: htpasswd } },
        access: {
          repositories: { '**': { users: { [reader.user]: ['read'] } } },
          admins: { users: [admin.user] },
        },
        upstreams: [{ prefix: 'signed', url: upstream.url, onlySigned: true }],
        signing: {
          cosign: {
            publicKeys: [
              ...keyFiles,
              reloadKeyPath,
              join(cosignFixtures, 'cosign.pub'),
              join(cosignFixtures, 'cosign2.pub'),
            ],
            trustedRoot: join(cosignFixtures, 'sigstore-bundle', 'trusted-root-public-good.json'),
          },
          notation: {
            trustStores: {
              'ca:release': [release.rootPath],
              'ca:e2e': [join(notationFixtures, 'e2e.crt')],
            },
          },
          policies: [{ repositories: 'prod/**' }],
        },
      },
    });
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  describe('real signature fixtures', () => {
    it('cosign fixture: verified, tampered copy refused', async () => {
      const stored = await readStoredCosignSignature(
        join(cosignFixtures, 'dir-img-cosign-valid', 'signature-1'),
      );
      const tag = `${fixtureImage.replace(':', '-')}.sig`;

      await writeCosignSignature(layout, 'fixture-sig', [stored]);
      await push('fixture-sig', `fixtures/cosign:${tag}`);

      const verified = await verdictIs('fixtures/cosign', fixtureImage, 'verified');

      assert.deepEqual(
        verified.signatures.map(({ kind, tag: signatureTag, verified: ok, signer, notes }) => ({
          kind,
          tag: signatureTag,
          ok,
          signer,
          notes,
        })),
        [{ kind: 'cosign', tag, ok: true, signer: 'cosign.pub', notes: [] }],
      );

      // One character of the signed payload changed: the payload still names the image, but no key verifies it.
      const tampered = Buffer.from(stored.payload.toString('utf8').replace('192.168.64.2', '192.168.64.3'));

      await writeCosignSignature(layout, 'fixture-tampered', [{ ...stored, payload: tampered }]);
      await push('fixture-tampered', `tampered/cosign:${tag}`);

      const refused = await verdictIs('tampered/cosign', fixtureImage, 'unverified');

      assert.match(refused.signatures[0].reason ?? '', /no configured key verifies the signature/);
    });

    it('cosign Rekor fixture: log time attested', async () => {
      const stored = await readStoredCosignSignature(
        join(cosignFixtures, 'dir-img-cosign-key-rekor-valid', 'signature-1'),
      );
      const payload = JSON.parse(stored.payload.toString('utf8')) as {
        critical: { image: { 'docker-manifest-digest': string } };
      };
      const subject = payload.critical.image['docker-manifest-digest'];

      assert.match(subject, /^sha256:0489474d/);
      await writeCosignSignature(layout, 'rekor-sig', [stored]);
      await push('rekor-sig', `fixtures/rekor:${subject.replace(':', '-')}.sig`);

      const verified = await verdictIs('fixtures/rekor', subject, 'verified');

      assert.equal(verified.signatures[0].signer, 'cosign2.pub');
      assert.equal(verified.signatures[0].signingTime, '2023-01-20T21:57:39.000Z');
      assert.deepEqual(verified.signatures[0].notes, [
        'the transparency log inclusion proof was not checked',
      ]);
    });

    it('verifies the notation-signed OCI layout pushed with skopeo, and refuses a tampered envelope', async () => {
      const copy = join(work, 'notation-layout');

      await cp(join(root, 'test', 'fixtures', 'notation', 'e2e-valid-signature'), copy, { recursive: true });

      const index = JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as {
        manifests: (Descriptor & { annotations?: Record<string, string> })[];
      };
      const signature = index.manifests.find((entry) => entry.annotations === undefined);

      assert.ok(signature, 'the layout lists the signature manifest without a tag');
      await tagInLayout(copy, 'signature', signature);

      for (const tag of ['v1', 'signature']) {
        await skopeo.push(`oci:${copy}:${tag}`, `docker://${wharf.hostPort}/notation/e2e:${tag}`, [
          '--preserve-digests',
          '--dest-creds',
          `${admin.user}:${admin.password}`,
        ]);
      }

      const verified = await verdictIs('notation/e2e', notationImage, 'verified');

      assert.equal(verified.signatures[0].kind, 'notation');
      assert.match(verified.signatures[0].signer ?? '', /CN=e2e/);
      assert.equal(verified.signatures[0].signingTime, '2023-06-27T05:30:33.000Z');
      assert.ok(verified.signatures[0].notes.includes('certificate revocation was not checked'));

      // The same envelope with one byte of its signature changed, pushed as a referrer of the same image.
      const envelope = JSON.parse(
        await readFile(join(notationFixtures, 'e2e-jws-signature.json'), 'utf8'),
      ) as {
        signature: string;
      };
      const flipped = envelope.signature.startsWith('A')
        ? `B${envelope.signature.slice(1)}`
        : `A${envelope.signature.slice(1)}`;
      const subject = {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: notationImage,
        size: 517,
      };

      await cp(join(copy, 'blobs'), join(layout, 'blobs'), { recursive: true });
      await writeNotationSignature(
        layout,
        'notation-tampered',
        subject,
        Buffer.from(JSON.stringify({ ...envelope, signature: flipped })),
      );
      await tagInLayout(layout, 'v1-of-notation', subject);
      await push('v1-of-notation', 'tampered/notation:v1');
      await pushReferrer('notation-tampered', 'tampered/notation');

      const refused = await verdictIs('tampered/notation', notationImage, 'unverified');

      assert.match(refused.signatures[0].reason ?? '', /signature/i);
    });
  });

  describe('notation COSE fixture', () => {
    const target = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: 'sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0',
      size: 481,
    };

    it('COSE and JWS: verified once their certificate is trusted', async () => {
      const cose = await readFile(join(notationFixtures, 'cose_signature.sig'));
      const jws = await readFile(join(notationFixtures, 'jws_signature.sig'));
      // Both envelopes carry the same self-signed certificate, the trust anchor notation-go's tests use.
      const leaf = (JSON.parse(jws.toString('utf8')) as { header: { x5c: string[] } }).header.x5c[0];
      const pem = `-----BEGIN CERTIFICATE-----\n${leaf.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;

      await writeNotationSignature(layout, 'cose-fixture', target, cose, 'application/cose');
      await writeNotationSignature(layout, 'jws-fixture', target, jws);
      await pushReferrer('cose-fixture', 'fixtures/cose');
      await pushReferrer('jws-fixture', 'fixtures/cose');

      const untrusted = await verdictIs('fixtures/cose', target.digest, 'unverified', 2);

      assert.match(untrusted.signatures[0].reason ?? '', /leads to no certificate of the trust store/);

      const put = await api(
        `/api/v1/signing/notation/trust-stores/${encodeURIComponent('ca:alpine')}/certificates/alpine.pem`,
        { method: 'PUT', headers: { 'content-type': 'application/x-pem-file' }, body: pem },
      );

      assert.equal(put.status, 200, await put.clone().text());

      const trusted = await verdict('fixtures/cose', target.digest);

      assert.equal(trusted.state, 'verified');
      assert.deepEqual(
        trusted.signatures.map((signature) => [signature.verified, /CN=alpine/.test(signature.signer ?? '')]),
        [
          [true, true],
          [true, true],
        ],
      );
    });

    it('COSE: tampered copy refused', async () => {
      const cose = Buffer.from(await readFile(join(notationFixtures, 'cose_signature.sig')));

      // The signature is the envelope's last byte string, so the last byte belongs to it.
      cose[cose.length - 1] ^= 0xff;
      await writeNotationSignature(layout, 'cose-tampered', target, cose, 'application/cose');
      await pushReferrer('cose-tampered', 'tampered/cose');

      const refused = await verdictIs('tampered/cose', target.digest, 'unverified');

      assert.match(refused.signatures[0].reason ?? '', /signature/i);
    });
  });

  describe('signatures made at test time and the pull policy', () => {
    before(async () => {
      for (const name of [
        'prod-ecdsa',
        'prod-rsa',
        'prod-ed25519',
        'prod-unsigned',
        'prod-notation',
        'prod-bundle',
        'prod-stranger',
      ]) {
        await image(name);
        await push(name, `prod/${name.slice(5)}:v1`);
      }

      await pushCosignSignature('prod/ecdsa', images['prod-ecdsa'].digest, keys.ecdsa.privateKey);
      await pushCosignSignature('prod/rsa', images['prod-rsa'].digest, keys.rsa.privateKey);
      await pushCosignSignature('prod/ed25519', images['prod-ed25519'].digest, keys.ed25519.privateKey);
      await writeNotationSignature(
        layout,
        'notation-release',
        images['prod-notation'],
        notationJws(images['prod-notation'], release),
      );
      await pushReferrer('notation-release', 'prod/notation');
      await writeNotationSignature(
        layout,
        'notation-stranger',
        images['prod-stranger'],
        notationJws(images['prod-stranger'], stranger),
      );
      await pushReferrer('notation-stranger', 'prod/stranger');

      const der = keys.ecdsa.publicKey.export({ type: 'spki', format: 'der' });

      await writeBundleReferrer(
        layout,
        'bundle-ecdsa',
        images['prod-bundle'],
        sigstoreBundle(images['prod-bundle'].digest, keys.ecdsa.privateKey, der),
      );
      await pushReferrer('bundle-ecdsa', 'prod/bundle');
    });

    it('verifies cosign signatures made with ECDSA P-256, RSA and Ed25519 keys', async () => {
      for (const [repository, key] of [
        ['prod/ecdsa', 'ecdsa.pub'],
        ['prod/rsa', 'rsa.pub'],
        ['prod/ed25519', 'ed25519.pub'],
      ]) {
        const result = await verdictIs(repository, images[`prod-${repository.slice(5)}`].digest, 'verified');

        // The rotating key file contains the ECDSA key too, so either name may be reported for it.
        assert.ok(
          result.signatures[0].signer === key ||
            (key === 'ecdsa.pub' && result.signatures[0].signer === 'rotating.pub'),
          `${repository}: ${JSON.stringify(result.signatures)}`,
        );
        assert.equal(result.required, true);
      }
    });

    it('notation JWS: trusted CA only', async () => {
      const verified = await verdictIs('prod/notation', images['prod-notation'].digest, 'verified');

      assert.match(verified.signatures[0].signer ?? '', /CN=release signer/);

      const refused = await verdictIs('prod/stranger', images['prod-stranger'].digest, 'unverified');

      assert.match(refused.signatures[0].reason ?? '', /trust/i);
    });

    it('verifies a key-signed sigstore bundle referrer', async () => {
      const verified = await verdictIs('prod/bundle', images['prod-bundle'].digest, 'verified');

      assert.equal(verified.signatures[0].kind, 'sigstore-bundle');
      assert.ok(
        verified.signatures[0].notes.length > 0,
        'a bundle without a log entry says what was not attested',
      );
    });

    it('serves verified images and refuses unsigned ones with an OCI DENIED error', async () => {
      await pull('prod/ecdsa:v1');
      await pull('prod/notation:v1');

      // Signatures themselves are artifacts, not images: clients read them to verify what they pull.
      for (const [repository, reference] of [
        ['prod/ecdsa', `${images['prod-ecdsa'].digest.replace(':', '-')}.sig`],
        ['prod/notation', 'notation-release'],
        ['prod/bundle', 'bundle-ecdsa'],
      ]) {
        const signature = await fetch(`${wharf.baseUrl}/v2/${repository}/manifests/${reference}`, {
          headers: { authorization: readerAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
        });

        assert.equal(signature.status, 200, `${repository}:${reference}: ${await signature.text()}`);

        const digest = signature.headers.get('docker-content-digest') ?? '';
        const about = await verdict(repository, digest);

        assert.equal(about.artifact, true, `${repository}:${reference} is an artifact`);
        assert.equal(about.required, false);
      }

      const refused = await fetch(`${wharf.baseUrl}/v2/prod/unsigned/manifests/v1`, {
        headers: { authorization: readerAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      const body = (await refused.json()) as { errors: { code: string; message: string }[] };

      assert.equal(refused.status, 403);
      assert.equal(body.errors[0].code, 'DENIED');
      assert.match(
        body.errors[0].message,
        /the signing\.policies rule for "prod\/\*\*" requires a verified signature, and the image has no signature/,
      );
      await assert.rejects(pull('prod/unsigned:v1'), /refused by policy/);

      const head = await fetch(`${wharf.baseUrl}/v2/prod/unsigned/manifests/v1`, {
        method: 'HEAD',
        headers: { authorization: readerAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });

      assert.equal(head.status, 200, 'a HEAD only resolves the tag and is not refused');

      const stranger = await fetch(`${wharf.baseUrl}/v2/prod/stranger/manifests/v1`, {
        headers: { authorization: readerAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });

      assert.equal(stranger.status, 403);
      assert.match(await stranger.text(), /none of its 1 signature\(s\) verified/);
      await wharf.waitForLog((record) => record.msg === 'pull refused by signature policy');
    });

    it('index signature: its images pass', async () => {
      const multi = join(work, 'multi');
      const signed = await createMultiPlatformLayout(multi, 'v1');
      const unsigned = await createMultiPlatformLayout(join(work, 'multi-unsigned'), 'v1', [linuxArm64]);
      const options = ['--all', '--preserve-digests', '--dest-creds', `${admin.user}:${admin.password}`];

      await skopeo.push(`oci:${multi}:v1`, `docker://${wharf.hostPort}/prod/multi:v1`, options);
      await skopeo.push(
        `oci:${join(work, 'multi-unsigned')}:v1`,
        `docker://${wharf.hostPort}/prod/multi-unsigned:v1`,
        options,
      );
      await pushCosignSignature('prod/multi', signed.index.digest, keys.ecdsa.privateKey);
      await verdictIs('prod/multi', signed.index.digest, 'verified');

      const child = signed.images[0].manifest;
      const served = await fetch(`${wharf.baseUrl}/v2/prod/multi/manifests/${child.digest}`, {
        headers: { authorization: readerAuth, accept: child.mediaType },
      });

      assert.equal(served.status, 200, await served.clone().text());
      assert.equal((await verdict('prod/multi', child.digest)).verifiedThroughIndex, true);
      await pull('prod/multi:v1', ['--override-arch', 'arm64', '--override-variant', 'v8']);

      const lone = unsigned.images[0].manifest;
      const refused = await fetch(`${wharf.baseUrl}/v2/prod/multi-unsigned/manifests/${lone.digest}`, {
        headers: { authorization: readerAuth, accept: lone.mediaType },
      });

      assert.equal(refused.status, 403);
    });

    it('signature deletion: verdict follows', async () => {
      const digest = images['prod-rsa'].digest;

      await verdictIs('prod/rsa', digest, 'verified');

      const deleted = await api(`/v2/prod/rsa/manifests/${digest.replace(':', '-')}.sig`, {
        method: 'DELETE',
      });

      assert.equal(deleted.status, 202, await deleted.clone().text());
      await verdictIs('prod/rsa', digest, 'unsigned');
      await assert.rejects(pull('prod/rsa:v1'), /refused by policy/);
    });

    it('shows the verdict on tag listings', async () => {
      const tags = (await (
        await api(`/api/v1/repositories/${encodeURIComponent('prod/ecdsa')}/tags`)
      ).json()) as {
        items: { name: string; signature: { state: string; signer?: string } }[];
      };
      const v1 = tags.items.find((tag) => tag.name === 'v1');

      assert.equal(v1?.signature.state, 'verified');

      const unsigned = (await (
        await api(`/api/v1/repositories/${encodeURIComponent('prod/unsigned')}/tags`)
      ).json()) as {
        items: { signature: { state: string } }[];
      };

      assert.equal(unsigned.items[0].signature.state, 'unsigned');
    });

    it('trust policy upload and removal', async () => {
      const digest = images['prod-notation'].digest;
      const policy = {
        version: '1.0',
        trustPolicies: [
          {
            name: 'release-only-from-ci',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:release'],
            trustedIdentities: ['x509.subject: C=US, ST=WA, O=Wharf Test, CN=release ci'],
          },
        ],
      };
      const put = await api('/api/v1/signing/notation/trust-policy', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(policy),
      });

      assert.equal(put.status, 200, await put.clone().text());
      assert.equal(((await put.json()) as Trust).notation.trustPolicy.source, 'api');

      const narrowed = await verdict('prod/notation', digest);

      assert.equal(narrowed.state, 'unverified', 'the answer comes after the signatures were checked again');
      assert.match(narrowed.signatures[0].reason ?? '', /identit/i);
      await assert.rejects(pull('prod/notation:v1'), /refused by policy/);

      const removed = await api('/api/v1/signing/notation/trust-policy', { method: 'DELETE' });

      assert.equal(removed.status, 200, await removed.clone().text());
      assert.equal((await verdict('prod/notation', digest)).state, 'verified');
      await pull('prod/notation:v1');

      const invalid = await api('/api/v1/signing/notation/trust-policy', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version: '1.0', trustPolicies: [{ name: 'x', registryScopes: ['*'] }] }),
      });

      assert.equal(invalid.status, 400);
      assert.match(
        ((await invalid.json()) as { errors: { message: string }[] }).errors[0].message,
        /trust policy is not valid/,
      );
    });
  });

  describe('trust uploaded through the admin API', () => {
    it('key upload and removal', async () => {
      const subject = await image('team-uploaded');

      await push('team-uploaded', 'team/uploaded:v1');
      await pushCosignSignature('team/uploaded', subject.digest, keys.uploaded.privateKey);

      const before = await verdictIs('team/uploaded', subject.digest, 'unverified');

      assert.match(before.signatures[0].reason ?? '', /no configured key verifies/);

      // Sent as bytes, without a Content-Type, as `curl -T team-key.pub` does.
      const put = await api('/api/v1/signing/cosign/keys/team-key.pub', {
        method: 'PUT',
        body: new TextEncoder().encode(publicPem(keys.uploaded.publicKey)),
      });

      assert.equal(put.status, 200, await put.clone().text());

      const trust = (await put.json()) as Trust;

      assert.deepEqual(
        trust.cosign.keys
          .filter((key) => key.source === 'api')
          .map(({ name, createdBy }) => ({ name, createdBy })),
        [{ name: 'team-key.pub', createdBy: admin.user }],
      );

      const after = await verdict('team/uploaded', subject.digest);

      assert.equal(after.state, 'verified');
      assert.equal(after.signatures[0].signer, 'team-key.pub');

      assert.equal((await api('/api/v1/signing/cosign/keys/team-key.pub', { method: 'DELETE' })).status, 200);
      assert.equal((await verdict('team/uploaded', subject.digest)).state, 'unverified');
    });

    it('CA certificate upload and removal', async () => {
      const digest = images['prod-stranger'].digest;
      const put = await api(
        `/api/v1/signing/notation/trust-stores/${encodeURIComponent('ca:partner')}/certificates/stranger-root.pem`,
        {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pem: stranger.rootPem }),
        },
      );

      assert.equal(put.status, 200, await put.clone().text());
      assert.ok(
        ((await put.json()) as Trust).notation.trustStores.some(
          (store) => store.name === 'ca:partner' && store.certificates[0].subject.includes('stranger root'),
        ),
      );
      assert.equal((await verdict('prod/stranger', digest)).state, 'verified');

      const certificatePath = `/api/v1/signing/notation/trust-stores/${encodeURIComponent('ca:partner')}/certificates/stranger-root.pem`;
      const policy = {
        version: '1.0',
        trustPolicies: [
          {
            name: 'partners',
            registryScopes: ['*'],
            signatureVerification: { level: 'strict' },
            trustStores: ['ca:partner'],
            trustedIdentities: ['*'],
          },
        ],
      };
      const policyPut = await api('/api/v1/signing/notation/trust-policy', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(policy),
      });

      assert.equal(policyPut.status, 200, await policyPut.clone().text());

      const refused = await api(certificatePath, { method: 'DELETE' });

      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /last certificate of ca:partner, which the trust policy names/);
      assert.equal((await api('/api/v1/signing/notation/trust-policy', { method: 'DELETE' })).status, 200);

      const removed = await api(certificatePath, { method: 'DELETE' });

      assert.equal(removed.status, 200);
      assert.equal((await verdict('prod/stranger', digest)).state, 'unverified');
    });

    it('reads the configured key files again on reload', async () => {
      const subject = await image('team-rotated');

      await push('team-rotated', 'team/rotated:v1');
      await pushCosignSignature('team/rotated', subject.digest, keys.reloaded.privateKey);
      await verdictIs('team/rotated', subject.digest, 'unverified');
      await writeFile(reloadKeyPath, publicPem(keys.reloaded.publicKey));

      const reloaded = await api('/api/v1/signing/trust/reload', { method: 'POST' });

      assert.equal(reloaded.status, 200, await reloaded.clone().text());

      const result = await verdict('team/rotated', subject.digest);

      assert.equal(result.state, 'verified');
      assert.equal(result.signatures[0].signer, 'rotating.pub');
    });

    it('rejects bad uploads with a reason, and callers who are not admins', async () => {
      const cases: [string, RequestInit, number, RegExp][] = [
        [
          '/api/v1/signing/cosign/keys/broken.pub',
          { body: 'not a key', headers: { 'content-type': 'application/x-pem-file' } },
          400,
          /public key "broken.pub"/,
        ],
        [
          '/api/v1/signing/cosign/keys/ecdsa.pub',
          { body: publicPem(keys.uploaded.publicKey), headers: { 'content-type': 'application/x-pem-file' } },
          400,
          /comes from the config file/,
        ],
        [
          '/api/v1/signing/cosign/keys/..bad',
          { body: publicPem(keys.uploaded.publicKey), headers: { 'content-type': 'application/x-pem-file' } },
          400,
          /key name/,
        ],
        [
          `/api/v1/signing/notation/trust-stores/${encodeURIComponent('ca:x')}/certificates/leaf.pem`,
          { body: publicPem(keys.uploaded.publicKey), headers: { 'content-type': 'application/x-pem-file' } },
          400,
          /contains no PEM certificate/,
        ],
        [
          `/api/v1/signing/notation/trust-stores/wrong/certificates/leaf.pem`,
          { body: release.rootPem, headers: { 'content-type': 'application/x-pem-file' } },
          400,
          /trust store must be/,
        ],
        [
          '/api/v1/signing/cosign/keys/empty.pub',
          { body: '{}', headers: { 'content-type': 'application/json' } },
          400,
          /send the PEM text/,
        ],
        [
          '/api/v1/signing/cosign/keys/secret.pub',
          {
            body: keys.uploaded.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            headers: { 'content-type': 'application/x-pem-file' },
          },
          400,
          /contains a private key/,
        ],
        [
          '/api/v1/signing/cosign/keys/form.pub',
          {
            body: publicPem(keys.uploaded.publicKey),
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
          415,
          /PEM \(application\/x-pem-file\) for signing keys and certificates/,
        ],
        [
          '/api/v1/signing/notation/trust-policy',
          {
            body: JSON.stringify({
              version: '1.0',
              trustPolicies: [
                {
                  name: 'missing-store',
                  registryScopes: ['*'],
                  signatureVerification: { level: 'strict' },
                  trustStores: ['ca:nowhere'],
                  trustedIdentities: ['*'],
                },
              ],
            }),
            headers: { 'content-type': 'application/json' },
          },
          400,
          /names the trust store ca:nowhere, which has no certificates/,
        ],
      ];

      for (const [path, init, status, message] of cases) {
        const response = await api(path, { method: 'PUT', ...init });
        const body = (await response.json()) as { errors: { message: string }[] };

        assert.equal(response.status, status, `${path}: ${JSON.stringify(body)}`);
        assert.match(body.errors[0].message, message);
      }

      const asReader = await api('/api/v1/signing/trust', {}, readerAuth);
      const anonymous = await fetch(`${wharf.baseUrl}/api/v1/signing/trust`);
      const missing = await api('/api/v1/signing/cosign/keys/never-uploaded.pub', { method: 'DELETE' });

      assert.equal(asReader.status, 403);
      assert.equal(anonymous.status, 401);
      assert.equal(missing.status, 404);
    });
  });

  describe('bad signatures', () => {
    it('gives each a reason and never verified', async () => {
      const wrongDigest = await image('bad-wrong-digest');
      const badBase64 = await image('bad-base64');
      const notSignature = await image('bad-not-signature');
      const truncated = await image('bad-truncated');
      const other = await image('bad-other');

      for (const name of ['bad-wrong-digest', 'bad-base64', 'bad-not-signature', 'bad-truncated']) {
        await push(name, `bad/${name.slice(4)}:v1`);
      }

      // A valid signature of another image, copied under this image's signature tag.
      await pushCosignSignature('bad/wrong-digest', wrongDigest.digest, keys.ecdsa.privateKey, other.digest);

      const payload = simpleSigningPayload('bad/base64', badBase64.digest);

      await writeCosignSignature(layout, 'bad-base64-sig', [
        { payload, annotations: { [cosignSignatureAnnotation]: 'not base64!' } },
      ]);
      await push('bad-base64-sig', `bad/base64:${badBase64.digest.replace(':', '-')}.sig`);
      // The signature tag names an ordinary image.
      await push('bad-other', `bad/not-signature:${notSignature.digest.replace(':', '-')}.sig`);

      const envelope = notationJws(truncated, release);

      await writeNotationSignature(
        layout,
        'bad-truncated-sig',
        truncated,
        envelope.subarray(0, envelope.length - 40),
      );
      await pushReferrer('bad-truncated-sig', 'bad/truncated');

      const expected: [string, Descriptor, RegExp][] = [
        [
          'bad/wrong-digest',
          wrongDigest,
          new RegExp(`names the image ${other.digest}, not ${wrongDigest.digest}`),
        ],
        ['bad/base64', badBase64, /not valid base64/],
        ['bad/not-signature', notSignature, /is not a cosign signature/],
        ['bad/truncated', truncated, /JSON|envelope/i],
      ];

      for (const [repository, subject, reason] of expected) {
        const result = await verdictIs(repository, subject.digest, 'unverified');

        assert.ok(result.signatures.length > 0);
        assert.ok(result.signatures.every((signature) => !signature.verified));
        assert.match(result.signatures[0].reason ?? '', reason, repository);
      }

      assert.equal(
        (await fetch(`${wharf.baseUrl}/v2/`, { headers: { authorization: readerAuth } })).status,
        200,
      );
    });
  });

  describe('an onlySigned upstream', () => {
    before(async () => {
      const signed = await image('upstream-signed');

      await image('upstream-unsigned');
      await skopeo.push(`oci:${layout}:upstream-signed`, upstream.dockerReference('team/signed:v1'), [
        '--preserve-digests',
      ]);
      await skopeo.push(`oci:${layout}:upstream-unsigned`, upstream.dockerReference('team/unsigned:v1'), [
        '--preserve-digests',
      ]);

      const payload = simpleSigningPayload('upstream/team/signed', signed.digest);

      await writeCosignSignature(layout, 'upstream-sig', [
        { payload, annotations: { [cosignSignatureAnnotation]: cosignSign(keys.ecdsa.privateKey, payload) } },
      ]);
      await skopeo.push(
        `oci:${layout}:upstream-sig`,
        upstream.dockerReference(`team/signed:${signed.digest.replace(':', '-')}.sig`),
        ['--preserve-digests'],
      );

      // The notation layout with its referrers tag-schema index, as notation pushes it to a registry
      // without the referrers API.
      const copy = join(work, 'notation-upstream');

      await cp(join(root, 'test', 'fixtures', 'notation', 'e2e-valid-signature'), copy, { recursive: true });

      const index = JSON.parse(await readFile(join(copy, 'index.json'), 'utf8')) as {
        manifests: (Descriptor & { annotations?: Record<string, string> })[];
      };
      const signatureManifest = index.manifests.find((entry) => entry.annotations === undefined);

      assert.ok(signatureManifest);
      await tagInLayout(copy, 'signature', signatureManifest);

      for (const tag of ['v1', 'signature', notationImage.replace(':', '-')]) {
        await skopeo.push(`oci:${copy}:${tag}`, upstream.dockerReference(`notation/e2e:${tag}`), [
          '--preserve-digests',
        ]);
      }
    });

    it('caches and serves an image whose cosign signature verifies, with its signature', async () => {
      await pull('signed/team/signed:v1');

      const result = await verdict('signed/team/signed', images['upstream-signed'].digest);

      assert.equal(result.state, 'verified');
      assert.equal(
        result.signatures[0].signer === 'ecdsa.pub' || result.signatures[0].signer === 'rotating.pub',
        true,
      );

      const tags = (await (
        await api(`/api/v1/repositories/${encodeURIComponent('signed/team/signed')}/tags`)
      ).json()) as {
        items: { name: string }[];
      };

      assert.ok(
        tags.items.some((tag) => tag.name.endsWith('.sig')),
        'the signature tag is cached with the image',
      );
    });

    it('refuses and does not cache an unsigned image', async () => {
      await assert.rejects(pull('signed/team/unsigned:v1'), /refused by policy/);

      const response = await fetch(`${wharf.baseUrl}/v2/signed/team/unsigned/manifests/v1`, {
        headers: { authorization: readerAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });

      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { errors: { code: string }[] }).errors[0].code, 'DENIED');

      const cached = await api(`/api/v1/repositories/${encodeURIComponent('signed/team/unsigned')}`);

      assert.equal(cached.status, 404, 'nothing of the refused image was stored');
      await wharf.waitForLog(
        (record) => record.msg === 'image not cached: its upstream is onlySigned and no signature verified',
      );
    });

    it('notation through the referrers tag schema', async () => {
      await pull('signed/notation/e2e:v1');

      const result = await verdict('signed/notation/e2e', notationImage);

      assert.equal(result.state, 'verified');
      assert.equal(result.signatures[0].kind, 'notation');
    });
  });

  it('unusable trust files: start refused', async () => {
    const missing = join(work, 'no-such-key.pub');
    const notKey = join(work, 'not-a-key.pub');
    const privateKey = join(work, 'private.pem');
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { cosign: { publicKeys: [missing] } },
        /signing\.cosign\.publicKeys\.0 = ".*no-such-key\.pub": cannot be read: ENOENT/,
      ],
      [
        { notation: { trustStores: { 'ca:x': [notKey] } } },
        /signing\.notation\.trustStores\.ca:x\.0 = ".*not-a-key\.pub": ca:x\/not-a-key\.pub contains no PEM certificate/,
      ],
      [
        {
          cosign: {
            identities: [{ subject: 'https://ci.example/release', issuer: 'https://issuer.example' }],
          },
        },
        /signing\.cosign\.identities = "https:\/\/ci\.example\/release": keyless identities need signing\.cosign\.trustedRoot/,
      ],
      [
        {
          notation: { trustPolicy: join(notationFixtures, 'trustpolicy', 'registry_scope_trustpolicy.json') },
        },
        /signing\.notation\.trustPolicy = ".*": the policy names the trust store ca:e2e, which signing\.notation\.trustStores does not list/,
      ],
      [
        { cosign: { publicKeys: [privateKey] } },
        /signing\.cosign\.publicKeys\.0 = ".*private\.pem": public key "private\.pem" contains a private key/,
      ],
    ];

    await writeFile(notKey, 'this is not a PEM file\n');
    await writeFile(privateKey, keys.ecdsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));

    for (const [index, [signing, message]] of cases.entries()) {
      const rootDirectory = join(work, `refused-${index}`);

      await mkdir(rootDirectory);
      await assert.rejects(startWharf({ rootDirectory, config: { signing } }), (error: Error) => {
        assert.match(error.message, /wharf exited with code 2/);
        assert.match(error.message, message);

        return true;
      });
    }
  });

  it('counts signed images and signature checks in the metrics', async () => {
    const text = await (await api('/metrics')).text();
    const verified = /wharf_signed_images\{state="verified"\} (\d+)/.exec(text);
    const unverified = /wharf_signed_images\{state="unverified"\} (\d+)/.exec(text);

    assert.ok(verified, text.slice(0, 500));
    assert.ok(Number(verified[1]) >= 8);
    assert.ok(unverified);
    assert.ok(Number(unverified[1]) >= 4);
    assert.match(text, /wharf_signature_checks_total\{kind="notation",result="verified"\} [1-9]/);
    assert.match(text, /wharf_signature_checks_total\{kind="cosign",result="unverified"\} [1-9]/);
    assert.match(text, /wharf_signature_checks_total\{kind="sigstore-bundle",result="verified"\} [1-9]/);
  });
});
