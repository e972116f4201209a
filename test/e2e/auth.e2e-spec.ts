import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { SignJWT, UnsecuredJWT } from 'jose';

import {
  createSinglePlatformLayout,
  initOciLayout,
  linuxAmd64,
  resolveTag,
  tagInLayout,
  writeImage,
  type WrittenImage,
} from '../support/oci-layout.js';
import { Skopeo } from '../support/skopeo.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

/** Passwords of the test users; each is written to the htpasswd file by the real `htpasswd -B`. */
const passwords = {
  alice: 'alice-password-1',
  bob: 'bob-password-2',
  root: 'root-password-3',
  carol: 'carol-password-5',
} as const;

/** A documentation address (RFC 5737) used only as an X-Forwarded-For value; no traffic goes there. */
const outsideAddress = '192.0.2.44';

/**
 * Polls for an htpasswd reload fail until the reload, so they come from their own forwarded address and
 * leave the failure limit of 127.0.0.1 to the tests that count on it.
 */
const pollingClient = { 'x-forwarded-for': '192.0.2.50' };

const policy = {
  anonymous: { networks: ['127.0.0.0/8', '::1/128'] },
  repositories: {
    '**': { anonymous: ['read'], authenticated: ['read'] },
    'team/**': {
      anonymous: ['read'],
      authenticated: ['read'],
      users: { alice: ['read', 'create', 'update', 'delete'], carol: ['read', 'create'] },
    },
    'private/**': { users: { alice: ['read', 'create'] } },
  },
  admins: { users: ['root'] },
};

function htpasswdLine(user: string, password: string): string {
  return execFileSync('/usr/bin/htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim();
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

interface ApiKeyResponse {
  id: string;
  secret: string;
  state: string;
  lastUsedAt: string | null;
}

describe('authentication and access control', () => {
  let workDirectory: string;
  let htpasswdPath: string;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let layout: string;
  let image: WrittenImage;
  let otherLayout: string;
  let otherImage: WrittenImage;

  const reference = (name: string) => `docker://${wharf.hostPort}/${name}`;
  const url = (path: string) => `${wharf.baseUrl}${path}`;
  const creds = (user: keyof typeof passwords) => ['--dest-creds', `${user}:${passwords[user]}`];

  async function token(query: string, authorization?: string, headers: Record<string, string> = {}) {
    const response = await fetch(url(`/auth/token?${query}`), {
      headers: { ...headers, ...(authorization ? { authorization } : {}) },
    });

    return response;
  }

  async function accessOf(query: string, authorization?: string): Promise<unknown> {
    const response = await token(query, authorization);

    assert.equal(response.status, 200);

    const body = (await response.json()) as TokenResponse;
    const payload = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()) as {
      access: unknown;
    };

    return payload.access;
  }

  async function createKey(user: keyof typeof passwords, body: object): Promise<ApiKeyResponse> {
    const response = await fetch(url('/api/v1/apikeys'), {
      method: 'POST',
      headers: { authorization: basic(user, passwords[user]), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

    assert.equal(response.status, 201, await response.clone().text());

    return (await response.json()) as ApiKeyResponse;
  }

  async function catalogOf(authorization?: string, headers: Record<string, string> = {}): Promise<string[]> {
    const response = await fetch(url('/v2/_catalog'), {
      headers: { ...headers, ...(authorization ? { authorization } : {}) },
    });

    assert.equal(response.status, 200, await response.clone().text());

    return ((await response.json()) as { repositories: string[] }).repositories;
  }

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-auth-'));
    htpasswdPath = join(workDirectory, 'htpasswd');
    await writeFile(
      htpasswdPath,
      `${Object.entries(passwords)
        .map(([user, password]) => htpasswdLine(user, password))
        .join('\n')}\n# a legacy entry, refused at load\nlegacy:$apr1$x9z8y7$0123456789abcdefghijkl\n`,
    );
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));
    layout = join(workDirectory, 'image');
    image = await createSinglePlatformLayout(layout, 'v1');
    otherLayout = join(workDirectory, 'other-image');
    await initOciLayout(otherLayout);
    otherImage = await writeImage(otherLayout, linuxAmd64, [
      [{ path: 'etc/motd', content: Buffer.from('other\n') }],
    ]);
    await tagInLayout(otherLayout, 'v1', otherImage.manifest);
    wharf = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] },
        auth: { htpasswd: { path: htpasswdPath }, failedLogins: { limit: 20, window: '1m', delay: '10ms' } },
        access: policy,
      },
    });
  });

  after(async () => {
    await wharf?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  describe('registry challenge', () => {
    it('answers /v2/ without credentials with a Bearer challenge naming the token service', async () => {
      const response = await fetch(url('/v2/'));

      assert.equal(response.status, 401);
      assert.equal(
        response.headers.get('www-authenticate'),
        `Bearer realm="${wharf.baseUrl}/auth/token",service="wharf"`,
      );
    });

    it('answers an anonymous push with the Bearer challenge for pull and push', async () => {
      const response = await fetch(url('/v2/team/app/blobs/uploads/'), { method: 'POST' });
      const body = (await response.json()) as { errors: { code: string }[] };

      assert.equal(response.status, 401);
      assert.equal(
        response.headers.get('www-authenticate'),
        `Bearer realm="${wharf.baseUrl}/auth/token",service="wharf",scope="repository:team/app:pull,push"`,
      );
      assert.equal(body.errors[0].code, 'UNAUTHORIZED');
    });

    it('refuses an anonymous skopeo push', async () => {
      const stderr = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        `oci:${layout}:v1`,
        reference('team/app:v1'),
      ]);

      assert.match(stderr, /unauthorized|authentication required/i);
    });
  });

  describe('pushes and pulls with skopeo', () => {
    before(async () => {
      await skopeo.push(`oci:${layout}:v1`, reference('team/app:v1'), creds('alice'));
      await skopeo.push(`oci:${layout}:v1`, reference('private/app:v1'), creds('alice'));
    });

    it('lets alice push where the policy gives her create', async () => {
      const response = await fetch(url('/v2/team/app/manifests/v1'), { method: 'HEAD' });

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('lets an anonymous client on 127.0.0.1 pull', async () => {
      const out = join(workDirectory, 'anonymous-pull');

      await skopeo.pull(reference('team/app:v1'), `oci:${out}:v1`);
      assert.equal((await resolveTag(out, 'v1')).digest, image.manifest.digest);
    });

    it('refuses bob, who may only read, with DENIED', async () => {
      const stderr = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        ...creds('bob'),
        `oci:${otherLayout}:v1`,
        reference('team/app:v2'),
      ]);
      const direct = await fetch(url('/v2/team/app/blobs/uploads/'), {
        method: 'POST',
        headers: { authorization: basic('bob', passwords.bob) },
      });
      const body = (await direct.json()) as { errors: { code: string; message: string }[] };

      assert.match(stderr, /denied|unauthorized/i);
      assert.equal(direct.status, 403);
      assert.equal(body.errors[0].code, 'DENIED');
      assert.match(body.errors[0].message, /"bob" may not push "team\/app"/);
    });

    it('mounts only from a repository the caller may read', async () => {
      const layer = image.layers[0].digest;
      const mount = (user: keyof typeof passwords) =>
        fetch(url(`/v2/team/mounted/blobs/uploads/?mount=${layer}&from=private/app`), {
          method: 'POST',
          headers: { authorization: basic(user, passwords[user]) },
        });
      const refused = await mount('carol');
      const mounted = await mount('alice');

      assert.equal(refused.status, 202);
      assert.equal(mounted.status, 201);
    });

    it('needs read access for referrers', async () => {
      const path = `/v2/private/app/referrers/${image.manifest.digest}`;
      const anonymous = await fetch(url(path));
      const bob = await fetch(url(path), { headers: { authorization: basic('bob', passwords.bob) } });
      const alice = await fetch(url(path), { headers: { authorization: basic('alice', passwords.alice) } });

      assert.equal(anonymous.status, 401);
      assert.equal(bob.status, 403);
      assert.equal(alice.status, 200);
    });

    it('accepts Basic credentials straight on /v2 requests', async () => {
      const response = await fetch(url('/v2/private/app/manifests/v1'), {
        method: 'HEAD',
        headers: { authorization: basic('alice', passwords.alice) },
      });

      assert.equal(response.status, 200);
    });

    it('keeps anonymous clients out of repositories without anonymous rules', async () => {
      const response = await fetch(url('/v2/private/app/manifests/v1'), { method: 'HEAD' });

      assert.equal(response.status, 401);
    });

    it('moves a tag only with update', async () => {
      await skopeo.push(`oci:${otherLayout}:v1`, reference('team/app:v1'), creds('alice'));

      const moved = await fetch(url('/v2/team/app/manifests/v1'), { method: 'HEAD' });
      const stderr = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        ...creds('alice'),
        `oci:${otherLayout}:v1`,
        reference('private/app:v1'),
      ]);
      const kept = await fetch(url('/v2/private/app/manifests/v1'), {
        method: 'HEAD',
        headers: { authorization: basic('alice', passwords.alice) },
      });

      assert.equal(moved.headers.get('docker-content-digest'), otherImage.manifest.digest);
      assert.match(stderr, /denied|move/i);
      assert.equal(kept.headers.get('docker-content-digest'), image.manifest.digest);
    });

    it('re-pushes an unchanged tag with create', async () => {
      await skopeo.push(`oci:${layout}:v1`, reference('private/app:v1'), creds('alice'));
    });

    it('lets alice delete in team/ and refuses bob', async () => {
      await skopeo.push(`oci:${layout}:v1`, reference('team/app:old'), creds('alice'));

      const refused = await fetch(url('/v2/team/app/manifests/old'), {
        method: 'DELETE',
        headers: { authorization: basic('bob', passwords.bob) },
      });
      const deleted = await fetch(url('/v2/team/app/manifests/old'), {
        method: 'DELETE',
        headers: { authorization: basic('alice', passwords.alice) },
      });

      assert.equal(refused.status, 403);
      assert.equal(deleted.status, 202);
    });

    it('writes audit records for pushes, tag moves, deletes and logins', async () => {
      for (const event of ['push', 'tag-move', 'delete', 'login']) {
        const found = await wharf.waitForLog((record) => record.audit === true && record.event === event);

        assert.ok(found.length > 0, `no audit record for ${event}`);
      }

      const [move] = await wharf.waitForLog((record) => record.event === 'tag-move');

      assert.equal(move.user, 'alice');
      assert.equal(move.repository, 'team/app');
      assert.equal(move.from, image.manifest.digest);
    });
  });

  describe('API keys', () => {
    it("works as alice's password for skopeo, records its use, and stops working once revoked", async () => {
      const key = await createKey('alice', { label: 'ci' });

      assert.match(key.secret, /^wharf_[0-9a-f]{16}_/);
      await skopeo.push(`oci:${layout}:v1`, reference('team/keyed:v1'), [
        '--dest-creds',
        `alice:${key.secret}`,
      ]);

      const listed = await fetch(url('/api/v1/apikeys'), {
        headers: { authorization: basic('alice', passwords.alice) },
      });
      const keys = ((await listed.json()) as { keys: ApiKeyResponse[] }).keys;
      const entry = keys.find((candidate) => candidate.id === key.id);

      assert.equal(entry?.state, 'active');
      assert.notEqual(entry?.lastUsedAt, null);
      assert.equal('secret' in (entry ?? {}), false);

      const revoked = await fetch(url(`/api/v1/apikeys/${key.id}`), {
        method: 'DELETE',
        headers: { authorization: basic('alice', passwords.alice) },
      });

      assert.equal(revoked.status, 204);

      const stderr = await skopeo.runExpectingFailure('copy', [
        '--dest-tls-verify=false',
        '--dest-creds',
        `alice:${key.secret}`,
        `oci:${layout}:v1`,
        reference('team/keyed:v2'),
      ]);

      assert.match(stderr, /unauthorized|invalid username or password/i);
    });

    it('stops working once expired', async () => {
      const key = await createKey('alice', {
        label: 'short',
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      });
      const before = await token('scope=repository:team/app:push', basic('alice', key.secret));

      assert.equal(before.status, 200);
      await sleep(2000);

      const afterExpiry = await token('scope=repository:team/app:push', basic('alice', key.secret));

      assert.equal(afterExpiry.status, 401);
    });

    it('belongs to its user only', async () => {
      const key = await createKey('alice', { label: 'not-for-bob' });
      const response = await token('scope=repository:team/app:pull', basic('bob', key.secret));

      assert.equal(response.status, 401);
    });

    it('cannot create further keys', async () => {
      const key = await createKey('alice', { label: 'parent' });
      const response = await fetch(url('/api/v1/apikeys'), {
        method: 'POST',
        headers: { authorization: basic('alice', key.secret), 'content-type': 'application/json' },
        body: JSON.stringify({ label: 'child' }),
      });

      assert.equal(response.status, 401);
    });

    it('rejects a label that is missing and an expiry in the past', async () => {
      for (const body of [
        {},
        { label: 'old', expiresAt: '2001-01-01T00:00:00Z' },
        { label: 'x', expiresAt: 'soon' },
      ]) {
        const response = await fetch(url('/api/v1/apikeys'), {
          method: 'POST',
          headers: { authorization: basic('alice', passwords.alice), 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const error = (await response.json()) as { errors: { message: string }[] };

        assert.equal(response.status, 400, JSON.stringify(body));
        assert.ok(error.errors[0].message.length > 0);
      }
    });

    it('needs a signed-in user', async () => {
      const response = await fetch(url('/api/v1/apikeys'));

      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), null);
    });
  });

  describe('token service', () => {
    it('grants the intersection of what was asked and what the policy allows', async () => {
      assert.deepEqual(
        await accessOf(
          'service=wharf&scope=repository:team/app:pull,push,delete',
          basic('bob', passwords.bob),
        ),
        [{ type: 'repository', name: 'team/app', actions: ['pull'] }],
      );
      assert.deepEqual(
        await accessOf(
          'scope=repository:team/app:pull,push&scope=repository:private/app:pull&scope=registry:catalog:*',
          basic('alice', passwords.alice),
        ),
        [
          { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
          { type: 'repository', name: 'private/app', actions: ['pull'] },
          { type: 'registry', name: 'catalog', actions: ['*'] },
        ],
      );
      assert.deepEqual(await accessOf('scope=repository:private/app:pull'), []);
      assert.deepEqual(await accessOf('scope=repository:team/app:toString,constructor,pull'), [
        { type: 'repository', name: 'team/app', actions: ['pull'] },
      ]);
    });

    it('gives an anonymous client outside the anonymous networks an empty token', async () => {
      const response = await token('scope=repository:team/app:pull', undefined, {
        'x-forwarded-for': outsideAddress,
      });
      const body = (await response.json()) as TokenResponse;
      const payload = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString()) as {
        access: unknown;
      };

      assert.equal(response.status, 200);
      assert.deepEqual(payload.access, []);
    });

    it('returns a refresh token for offline_token=true and accepts it in the POST form', async () => {
      const offline = (await (
        await token(
          'scope=repository:team/app:pull&offline_token=true&client_id=test',
          basic('alice', passwords.alice),
        )
      ).json()) as TokenResponse;

      assert.ok(offline.refresh_token);

      const refreshed = await fetch(url('/auth/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: offline.refresh_token,
          service: 'wharf',
          client_id: 'test',
          scope: 'repository:team/app:pull,push',
        }),
      });
      const body = (await refreshed.json()) as TokenResponse;

      assert.equal(refreshed.status, 200);
      assert.equal(body.expires_in, 300);

      const push = await fetch(url('/v2/team/app/blobs/uploads/'), {
        method: 'POST',
        headers: { authorization: `Bearer ${body.access_token}` },
      });

      assert.equal(push.status, 202);
    });

    it('supports the password grant with access_type=offline, as docker login does', async () => {
      const response = await fetch(url('/auth/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: 'alice',
          password: passwords.alice,
          service: 'wharf',
          client_id: 'docker',
          access_type: 'offline',
          scope: 'repository:team/app:pull',
        }),
      });
      const body = (await response.json()) as TokenResponse;

      assert.equal(response.status, 200);
      assert.ok(body.access_token);
      assert.ok(body.refresh_token);
    });

    it('rejects refresh after key revocation', async () => {
      const key = await createKey('alice', { label: 'refresh' });
      const offline = (await (
        await token('scope=repository:team/app:pull&offline_token=true', basic('alice', key.secret))
      ).json()) as TokenResponse;

      await fetch(url(`/api/v1/apikeys/${key.id}`), {
        method: 'DELETE',
        headers: { authorization: basic('alice', passwords.alice) },
      });

      const refreshed = await fetch(url('/auth/token'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: offline.refresh_token ?? '',
        }),
      });
      const body = (await refreshed.json()) as { error: string };

      assert.equal(refreshed.status, 400);
      assert.equal(body.error, 'invalid_grant');
    });

    it('answers a token whose scope lacks the action with insufficient_scope', async () => {
      const body = (await (
        await token('scope=repository:team/app:pull', basic('alice', passwords.alice))
      ).json()) as TokenResponse;
      const response = await fetch(url('/v2/team/app/blobs/uploads/'), {
        method: 'POST',
        headers: { authorization: `Bearer ${body.token}` },
      });

      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    });
  });

  describe('catalog', () => {
    async function tokenFor(authorization?: string): Promise<string> {
      const body = (await (await token('scope=registry:catalog:*', authorization)).json()) as TokenResponse;

      return `Bearer ${body.token}`;
    }

    it('lists only what each caller may read', async () => {
      const anonymous = await catalogOf();
      const alice = await catalogOf(await tokenFor(basic('alice', passwords.alice)));
      const bob = await catalogOf(basic('bob', passwords.bob));

      assert.ok(anonymous.includes('team/app'));
      assert.ok(!anonymous.includes('private/app'));
      assert.ok(alice.includes('private/app'));
      assert.ok(!bob.includes('private/app'));
    });

    it('pages the filtered list', async () => {
      const first = await fetch(url('/v2/_catalog?n=1'));
      const body = (await first.json()) as { repositories: string[] };

      assert.equal(body.repositories.length, 1);
      assert.match(first.headers.get('link') ?? '', /last=/);
    });

    it('challenges an anonymous client outside the anonymous networks', async () => {
      const response = await fetch(url('/v2/_catalog'), { headers: { 'x-forwarded-for': outsideAddress } });

      assert.equal(response.status, 401);
      assert.match(response.headers.get('www-authenticate') ?? '', /scope="registry:catalog:\*"/);
    });
  });

  describe('htpasswd file', () => {
    it('logs rejected lines without hashes', async () => {
      const [rejected] = await wharf.waitForLog((record) => record.msg === 'htpasswd line rejected');

      assert.equal(rejected.file, htpasswdPath);
      assert.equal(rejected.line, Object.keys(passwords).length + 2);
      assert.doesNotMatch(wharf.output(), /\$apr1\$x9z8y7/);
      assert.doesNotMatch(wharf.output(), /\$2y\$/);
    });

    it('is reloaded when it changes', async () => {
      await appendFile(htpasswdPath, `${htpasswdLine('dave', 'dave-password-4')}\n`);

      let status = 0;

      // The file is polled once a second; allow up to 10 s.
      for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
        await sleep(250);
        status = (
          await token('scope=repository:team/app:pull', basic('dave', 'dave-password-4'), pollingClient)
        ).status;
      }

      assert.equal(status, 200);
    });

    it('ends refresh tokens and sessions when the password changes or the user goes', async () => {
      const offline = (await (
        await token('scope=repository:team/app:pull&offline_token=true', basic('dave', 'dave-password-4'))
      ).json()) as TokenResponse;
      const login = await fetch(url('/auth/login'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'dave', password: 'dave-password-4' }),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const refresh = () =>
        fetch(url('/auth/token'), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: offline.refresh_token ?? '',
          }),
        });

      const waitForStatus = async (password: string, expected: number) => {
        let status = 0;

        // The file is polled once a second; allow up to 10 s.
        for (let attempt = 0; attempt < 40 && status !== expected; attempt++) {
          await sleep(250);
          status = (await token('scope=repository:team/app:pull', basic('dave', password), pollingClient))
            .status;
        }

        assert.equal(status, expected);
      };

      assert.equal((await refresh()).status, 200);
      execFileSync('/usr/bin/htpasswd', ['-B', '-b', htpasswdPath, 'dave', 'dave-password-5']);
      await waitForStatus('dave-password-5', 200);

      const afterChange = await refresh();
      const changed = (await afterChange.json()) as { error_description: string };

      assert.equal(afterChange.status, 400);
      assert.match(changed.error_description, /password has changed/);

      execFileSync('/usr/bin/htpasswd', ['-D', htpasswdPath, 'dave']);
      await waitForStatus('dave-password-5', 401);

      const session = (await (await fetch(url('/auth/session'), { headers: { cookie } })).json()) as {
        authenticated: boolean;
      };

      assert.equal(login.status, 200);
      assert.equal(session.authenticated, false);
    });
  });

  describe('bad input', () => {
    const forged = async (claims: Record<string, unknown>) => {
      const pem = await readFile(join(wharf.rootDirectory, 'token-signing.pem'), 'utf8');
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: 'wharf',
        sub: 'alice',
        aud: 'wharf',
        iat: now,
        exp: now + 300,
        access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }],
        ...claims,
      };

      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
        .sign(createPrivateKey(pem));
    };

    it('answers each malformed or forged credential on /v2 with 401 and a message', async () => {
      const now = Math.floor(Date.now() / 1000);
      const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const cases: [string, string][] = [
        ['Basic !!!', 'not valid base64'],
        [`Basic ${Buffer.from('no-colon').toString('base64')}`, 'username:password'],
        ['Digest username="alice"', 'Basic or Bearer'],
        ['Bearer', 'token is missing'],
        [basic('alice', 'x'.repeat(73)), '72 bytes'],
        [basic('alice', 'wrong-password'), 'invalid username or password'],
        [basic('nobody', 'whatever'), 'invalid username or password'],
        [
          `Bearer ${await new SignJWT({ access: [] }).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).setIssuer('wharf').setAudience('wharf').setExpirationTime('5m').setIssuedAt().sign(stranger)}`,
          'signature',
        ],
        [
          `Bearer ${new UnsecuredJWT({ access: [], iss: 'wharf', aud: 'wharf', sub: 'alice' }).setIssuedAt().setExpirationTime('5m').encode()}`,
          'algorithm',
        ],
        [`Bearer ${await forged({ exp: now - 60, iat: now - 400 })}`, 'expired'],
        [`Bearer ${await forged({ nbf: now + 3600 })}`, 'not valid yet'],
        [`Bearer ${await forged({ aud: 'another-registry' })}`, '"aud" claim'],
        [`Bearer ${await forged({ iss: 'someone-else' })}`, '"iss" claim'],
      ];

      for (const [authorization, reason] of cases) {
        const response = await fetch(url('/v2/team/app/blobs/uploads/'), {
          method: 'POST',
          headers: { authorization },
        });
        const text = await response.text();

        assert.equal(response.status, 401, `${authorization}: ${text}`);

        const body = JSON.parse(text) as { errors: { code: string; message: string }[] };

        assert.equal(body.errors[0].code, 'UNAUTHORIZED');
        assert.ok(
          body.errors[0].message.includes(reason),
          `${body.errors[0].message} should mention ${reason}`,
        );
        assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      }
    });

    // The control for the forged tokens above: with nothing changed, the same forging code passes, so
    // each forged case fails for the claim it alters.
    it('accepts a token signed with the real key', async () => {
      const response = await fetch(url('/v2/team/app/blobs/uploads/'), {
        method: 'POST',
        headers: { authorization: `Bearer ${await forged({})}` },
      });

      assert.equal(response.status, 202);
    });

    it('refuses scopes with names that are not repository names', async () => {
      for (const scope of [
        'repository:host:5000/foo:pull',
        'repository:UPPER:pull',
        'repository::pull',
        'pull',
        'registry:tags:*',
        'volume:x:read',
      ]) {
        const response = await token(`scope=${encodeURIComponent(scope)}`, basic('alice', passwords.alice));
        const body = (await response.json()) as { errors: { message: string }[] };

        assert.equal(response.status, 400, scope);
        assert.match(body.errors[0].message, /scope/);
      }
    });

    it('refuses a token request for another service', async () => {
      const response = await token('service=elsewhere&scope=repository:team/app:pull');

      assert.equal(response.status, 400);
    });

    it('refuses POST grants that are missing or unknown with OAuth errors', async () => {
      const cases: [Record<string, string>, number, string][] = [
        [{ grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
        [{ grant_type: 'password', username: 'alice' }, 400, 'invalid_request'],
        [{ grant_type: 'password', username: 'alice', password: 'wrong' }, 400, 'invalid_grant'],
        [{ grant_type: 'refresh_token', refresh_token: 'not-a-jwt' }, 400, 'invalid_grant'],
      ];

      for (const [form, status, error] of cases) {
        const response = await fetch(url('/auth/token'), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(form),
        });

        assert.equal(response.status, status, JSON.stringify(form));
        assert.equal(((await response.json()) as { error: string }).error, error);
      }
    });

    it('ignores forward-auth headers when off', async () => {
      const response = await fetch(url('/api/v1/apikeys'), {
        headers: { 'x-authentik-username': 'root', 'x-authentik-groups': 'registry-admins' },
      });

      assert.equal(response.status, 401);
    });

    it('limits failed attempts per client address with 429 and Retry-After', async () => {
      const headers = { authorization: basic('alice', 'wrong'), 'x-forwarded-for': '192.0.2.99' };
      const statuses: number[] = [];

      for (let attempt = 0; attempt < 22; attempt++) {
        statuses.push((await fetch(url('/auth/token?scope=repository:team/app:pull'), { headers })).status);
      }

      const limited = await fetch(url('/auth/token'), {
        headers: { authorization: basic('alice', passwords.alice), 'x-forwarded-for': '192.0.2.99' },
      });

      assert.deepEqual(statuses, [...Array<number>(20).fill(401), 429, 429]);
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(
        (await token('scope=repository:team/app:pull', basic('alice', passwords.alice))).status,
        200,
      );
    });

    it('never logs a password, a token or an API key secret', () => {
      const output = wharf.output();

      for (const password of Object.values(passwords)) {
        assert.ok(!output.includes(password), 'a password is in the log');
      }

      assert.doesNotMatch(output, /wharf_[0-9a-f]{16}_/);
      assert.doesNotMatch(output, /eyJ[A-Za-z0-9_-]{10,}\./);
    });

    it('audits failed logins once per window and at lockout', async () => {
      await wharf.waitForLog((record) => record.address === '192.0.2.99' && 'lockedOutForSeconds' in record);

      const failures = await wharf.waitForLog(
        (record) => record.event === 'login-failed' && record.address === '192.0.2.99',
      );

      assert.equal(failures.length, 2);
      assert.equal(failures[0].lockedOutForSeconds, undefined);
      assert.ok(Number(failures[1].lockedOutForSeconds) > 0);
    });
  });
});

describe('authentication with anonymous pulls disallowed', () => {
  let workDirectory: string;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let layout: string;

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-auth-closed-'));

    const htpasswdPath = join(workDirectory, 'htpasswd');

    await writeFile(
      htpasswdPath,
      `${htpasswdLine('alice', passwords.alice)}\n${htpasswdLine('bob', passwords.bob)}\n`,
    );
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));
    layout = join(workDirectory, 'image');
    await createSinglePlatformLayout(layout, 'v1');
    wharf = await startWharf({
      config: {
        auth: { htpasswd: { path: htpasswdPath } },
        access: { ...policy, anonymous: { networks: [] } },
      },
    });
    await skopeo.push(`oci:${layout}:v1`, `docker://${wharf.hostPort}/team/app:v1`, [
      '--dest-creds',
      `alice:${passwords.alice}`,
    ]);
  });

  after(async () => {
    await wharf?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  it('refuses an anonymous pull from 127.0.0.1', async () => {
    const stderr = await skopeo.runExpectingFailure('copy', [
      '--src-tls-verify=false',
      `docker://${wharf.hostPort}/team/app:v1`,
      `oci:${join(workDirectory, 'anonymous')}:v1`,
    ]);

    assert.match(stderr, /unauthorized|authentication required/i);
  });

  it('lets bob pull with his password', async () => {
    await skopeo.pull(`docker://${wharf.hostPort}/team/app:v1`, `oci:${join(workDirectory, 'bob')}:v1`, [
      '--src-creds',
      `bob:${passwords.bob}`,
    ]);
  });

  it('shows an anonymous client an empty catalog challenge', async () => {
    const response = await fetch(`${wharf.baseUrl}/v2/_catalog`);

    assert.equal(response.status, 401);
  });
});

describe('browser sign-in with a password', () => {
  let workDirectory: string;
  let wharf: WharfServer;

  const url = (path: string) => `${wharf.baseUrl}${path}`;

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-auth-session-'));

    const htpasswdPath = join(workDirectory, 'htpasswd');

    await writeFile(htpasswdPath, `${htpasswdLine('alice', passwords.alice)}\n`);
    wharf = await startWharf({ config: { auth: { htpasswd: { path: htpasswdPath } }, access: policy } });
  });

  after(async () => {
    await wharf?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  async function signIn(): Promise<{ cookie: string; csrfToken: string; setCookie: string }> {
    const response = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: passwords.alice }),
    });
    const body = (await response.json()) as { csrfToken: string };
    const setCookie = response.headers.get('set-cookie') ?? '';

    assert.equal(response.status, 200);

    return { cookie: setCookie.split(';')[0], csrfToken: body.csrfToken, setCookie };
  }

  it('starts a session in an HttpOnly, SameSite=Lax cookie', async () => {
    const { cookie, setCookie } = await signIn();
    const session = (await (await fetch(url('/auth/session'), { headers: { cookie } })).json()) as {
      authenticated: boolean;
      username: string;
      method: string;
    };

    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);
    assert.doesNotMatch(setCookie, /Secure/);
    assert.equal(session.authenticated, true);
    assert.equal(session.username, 'alice');
  });

  it('refuses a wrong password without starting a session', async () => {
    const response = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'wrong' }),
    });

    assert.equal(response.status, 401);
    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(response.headers.get('www-authenticate'), null);
  });

  it('needs the CSRF token for state-changing requests made with the cookie', async () => {
    const { cookie, csrfToken } = await signIn();
    const create = (headers: Record<string, string>) =>
      fetch(url('/api/v1/apikeys'), {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ label: 'browser' }),
      });

    assert.equal((await create({})).status, 403);
    assert.equal((await create({ 'x-csrf-token': 'wrong' })).status, 403);
    assert.equal((await create({ 'x-csrf-token': csrfToken })).status, 201);
  });

  it('signs out: the cookie is cleared and the session no longer works', async () => {
    const { cookie, csrfToken } = await signIn();
    const refused = await fetch(url('/auth/logout'), { method: 'POST', headers: { cookie } });
    const response = await fetch(url('/auth/logout'), {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken },
    });
    const body = (await response.json()) as { redirectTo: string };
    const after = (await (await fetch(url('/auth/session'), { headers: { cookie } })).json()) as {
      authenticated: boolean;
    };

    assert.equal(refused.status, 403);
    assert.equal(response.status, 200);
    assert.equal(body.redirectTo, '/home');
    assert.match(response.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal(after.authenticated, false);
  });

  it('rejects API keys at the sign-in form', async () => {
    const created = await fetch(url('/api/v1/apikeys'), {
      method: 'POST',
      headers: { authorization: basic('alice', passwords.alice), 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'browser-login' }),
    });
    const { secret } = (await created.json()) as ApiKeyResponse;
    const login = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: secret }),
    });
    const body = (await login.json()) as { errors: { message: string }[] };

    assert.equal(login.status, 400);
    assert.equal(login.headers.get('set-cookie'), null);
    assert.match(body.errors[0].message, /sign in with your password/);
  });

  it('rejects a form-encoded sign-in, which a cross-site form could send', async () => {
    const response = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: passwords.alice }),
    });

    assert.equal(response.status, 415);
    assert.equal(response.headers.get('set-cookie'), null);
  });

  it('rejects a body that is not valid JSON with 400', async () => {
    const response = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username":',
    });
    const body = (await response.json()) as { errors: { message: string }[] };

    assert.equal(response.status, 400);
    assert.match(body.errors[0].message, /not valid JSON/);
  });

  it('reports one problem per missing field', async () => {
    const response = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice' }),
    });
    const body = (await response.json()) as { errors: { message: string }[] };

    assert.equal(response.status, 400);
    assert.equal(body.errors[0].message, 'password must be a string');
  });

  it('ends the previous session when the same browser signs in again', async () => {
    const first = await signIn();
    const second = await fetch(url('/auth/login'), {
      method: 'POST',
      headers: { cookie: first.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: passwords.alice }),
    });
    const old = (await (await fetch(url('/auth/session'), { headers: { cookie: first.cookie } })).json()) as {
      authenticated: boolean;
    };

    assert.equal(second.status, 200);
    assert.equal(old.authenticated, false);
  });

  it('ignores a forged or unknown session cookie', async () => {
    const response = await fetch(url('/api/v1/apikeys'), { headers: { cookie: 'wharf_session=forged' } });

    assert.equal(response.status, 401);
  });
});

describe('forward-auth headers', () => {
  const headers = { 'x-authentik-username': 'carol', 'x-authentik-groups': 'developers|registry-admins' };
  let trusted: WharfServer;
  let untrusted: WharfServer;

  before(async () => {
    const auth = { forwardAuth: { enabled: true } };

    trusted = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: 0, trustedProxies: ['127.0.0.1'] },
        auth,
        access: policy,
      },
    });
    untrusted = await startWharf({
      config: {
        http: { address: '127.0.0.1', port: 0, trustedProxies: ['192.0.2.1'] },
        auth,
        access: policy,
      },
    });
  });

  after(async () => {
    await trusted?.dispose();
    await untrusted?.dispose();
  });

  it('takes user and groups from a trusted proxy', async () => {
    const session = (await (await fetch(`${trusted.baseUrl}/auth/session`, { headers })).json()) as {
      username: string;
      groups: string[];
      method: string;
      csrfToken: string;
    };
    const created = await fetch(`${trusted.baseUrl}/api/v1/apikeys`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ label: 'from-forward-auth' }),
    });

    assert.equal(session.username, 'carol');
    assert.deepEqual(session.groups, ['developers', 'registry-admins']);
    assert.equal(session.method, 'forward-auth');
    assert.equal(created.status, 201);
  });

  it('never applies them to registry requests', async () => {
    const response = await fetch(`${trusted.baseUrl}/v2/private/app/tags/list`, { headers });

    assert.equal(response.status, 401);
  });

  it('ignores them from an address that is not a trusted proxy', async () => {
    const session = (await (await fetch(`${untrusted.baseUrl}/auth/session`, { headers })).json()) as {
      authenticated: boolean;
    };
    const keys = await fetch(`${untrusted.baseUrl}/api/v1/apikeys`, { headers });

    assert.equal(session.authenticated, false);
    assert.equal(keys.status, 401);
  });
});
