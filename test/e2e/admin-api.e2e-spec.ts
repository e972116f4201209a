/**
 * The admin REST API under /api/v1 and its OpenAPI document, against a real Wharf process with
 * htpasswd users and a policy, content pushed with skopeo, a referrer pushed over /v2, and a
 * pull-through cache of a real CNCF Distribution registry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { createBlob, createImage, mediaTypes, OciClient, type Content } from '../support/oci-client.js';
import {
  createMultiPlatformLayout,
  createSinglePlatformLayout,
  type Descriptor,
  linuxAmd64,
  linuxArm64,
  type WrittenImage,
  type WrittenIndex,
} from '../support/oci-layout.js';
import { Skopeo } from '../support/skopeo.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { findPackage } from '../../src/common/package-info.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const passwords = {
  admin: 'admin-password-1',
  reader: 'reader-password-2',
  deleter: 'deleter-password-3',
  owner: 'owner-password-4',
} as const;

type User = keyof typeof passwords;

/** Secrets planted in the configuration; `GET /api/v1/system` must show none of them. */
const upstreamPassword = 'upstream-password-9';
const databasePassword = 'database-password-8';

const policy = {
  anonymous: { networks: ['127.0.0.0/8', '::1/128'] },
  repositories: {
    '**': { authenticated: ['read'] },
    'team/**': { authenticated: ['read'], users: { deleter: ['read', 'create', 'update', 'delete'] } },
    'private/**': { users: { owner: ['read', 'create', 'update', 'delete'] } },
  },
  admins: { users: ['admin'] },
};

const sbomType = 'application/spdx+json';
/** Bound of the polls that wait for the statistics, which Wharf writes to its database every 5 s. */
const statisticsPolls = 75;
const pollIntervalMs = 200;

interface RepositoryItem {
  name: string;
  kind: string;
  upstream: string | null;
  size: number;
  tagCount: number;
  manifestCount: number;
  createdAt: string;
  lastPushAt: string | null;
  lastPullAt: string | null;
}

interface Page<T> {
  total: number;
  page: number;
  pageSize: number;
  items: T[];
}

interface TagItem {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  sizeComplete: boolean;
  platforms: { os: string; architecture: string; variant?: string }[];
  lastPushAt: string;
  lastPullAt: string | null;
}

interface ManifestDetails {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  manifests: { digest: string; size: number; platform: { os: string; architecture: string } | null }[];
  config: {
    digest: string;
    parsed: boolean;
    os: string | null;
    architecture: string | null;
    created: string | null;
    env: string[];
    labels: Record<string, string>;
    history: { created: string | null; createdBy: string | null; emptyLayer: boolean }[];
  } | null;
  layers: { digest: string; mediaType: string; size: number }[];
  referrers: {
    digest: string;
    mediaType: string;
    artifactType: string | null;
    size: number;
    annotations: Record<string, string> | null;
  }[];
}

interface UpstreamItem {
  prefix: string;
  url: string;
  cachedRepositories: number;
  storageBytes: number;
  statistics: {
    hits: number;
    misses: number;
    bytesFetched: number;
    errors: number;
    errorsByKind: Record<string, number>;
  };
  status: {
    reachable: boolean | null;
    lastResult: string | null;
    lastError: { kind: string; at: string } | null;
  };
  rateLimit: unknown;
}

interface ErrorResponse {
  errors: { code: string; message: string }[];
}

interface ApiResponse<T> {
  status: number;
  body: T;
  text: string;
  contentType: string | null;
}

function htpasswdLine(user: string, password: string): string {
  return execFileSync('/usr/bin/htpasswd', ['-Bbn', user, password], { encoding: 'utf8' }).trim();
}

function basic(user: User): string {
  return `Basic ${Buffer.from(`${user}:${passwords[user]}`).toString('base64')}`;
}

/** Returns a TCP port of 127.0.0.1 that nothing listens on a moment later, so connections are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

  const address = server.address();

  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null, 'the probe server has no address');
  assert.ok(typeof address === 'object', 'the probe server listens on a pipe, not a TCP port');

  return address.port;
}

function imageBytes(image: WrittenImage): number {
  return image.manifest.size + image.config.size + image.layers.reduce((sum, layer) => sum + layer.size, 0);
}

function distinctBlobBytes(images: readonly WrittenImage[]): number {
  const sizes = new Map<string, number>();

  for (const image of images) {
    for (const blob of [image.config, ...image.layers]) {
      sizes.set(blob.digest, blob.size);
    }
  }

  return [...sizes.values()].reduce((sum, size) => sum + size, 0);
}

function encoded(name: string): string {
  return encodeURIComponent(name);
}

describe('admin API', () => {
  let workDirectory: string;
  let upstream: UpstreamRegistry;
  let wharf: WharfServer;
  let skopeo: Skopeo;
  let appImage: WrittenImage;
  let multiIndex: WrittenIndex;
  let cachedImage: WrittenImage;
  let sbomManifest: Content;
  let sbomBlobs: Content[];
  let passwordFilePath: string;

  async function api<T>(path: string, user?: User, init: RequestInit = {}): Promise<ApiResponse<T>> {
    const headers = new Headers(init.headers);

    if (user !== undefined) {
      headers.set('authorization', basic(user));
    }

    const response = await fetch(`${wharf.baseUrl}${path}`, {
      ...init,
      headers,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let body: unknown;

    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON, such as the Swagger UI page: the test reads `text` instead.
      body = undefined;
    }

    return {
      status: response.status,
      body: body as T,
      text,
      contentType: response.headers.get('content-type'),
    };
  }

  async function ok<T>(path: string, user: User = 'admin'): Promise<T> {
    const response = await api<T>(path, user);

    assert.equal(
      response.status,
      200,
      `GET ${path} as ${user} returned ${response.status}: ${response.text}`,
    );

    return response.body;
  }

  function assertError(response: ApiResponse<unknown>, status: number, code: string): string {
    assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
    assert.match(response.contentType ?? '', /^application\/json/);

    const errors = (response.body as ErrorResponse).errors;

    assert.equal(errors[0]?.code, code, response.text);

    return errors[0].message;
  }

  async function names(query: string, user: User = 'admin'): Promise<string[]> {
    const page = await ok<Page<RepositoryItem>>(`/api/v1/repositories?pageSize=100${query}`, user);

    return page.items.map((item) => item.name);
  }

  /** Polls until `read` returns a value that `done` accepts; fails with the last value after the bound. */
  async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    let value = await read();

    for (let attempt = 0; attempt < statisticsPolls && !done(value); attempt++) {
      await sleep(pollIntervalMs);
      value = await read();
    }

    assert.ok(done(value), `${what}; last value: ${JSON.stringify(value)}`);

    return value;
  }

  async function pushToWharf(layout: string, tag: string, destination: string, options: string[] = []) {
    await skopeo.push(`oci:${layout}:${tag}`, `docker://${wharf.hostPort}/${destination}`, [
      ...options,
      '--dest-creds',
      `admin:${passwords.admin}`,
    ]);
  }

  async function pushBlobOverV2(repository: string, blob: Content): Promise<void> {
    const response = await api(`/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, 'admin', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.bytes,
    });

    assert.equal(response.status, 201, response.text);
  }

  before(async () => {
    workDirectory = await mkdtemp(join(tmpdir(), 'wharf-admin-'));
    skopeo = await Skopeo.create(join(workDirectory, 'skopeo'));

    const htpasswdPath = join(workDirectory, 'htpasswd');

    await writeFile(
      htpasswdPath,
      `${Object.entries(passwords)
        .map(([user, password]) => htpasswdLine(user, password))
        .join('\n')}\n`,
    );
    passwordFilePath = join(workDirectory, 'upstream-password');
    await writeFile(passwordFilePath, `${upstreamPassword}\n`);

    const appLayout = join(workDirectory, 'app');
    const multiLayout = join(workDirectory, 'multi');
    const cachedLayout = join(workDirectory, 'cached');

    appImage = await createSinglePlatformLayout(appLayout, 'v1', linuxAmd64);
    multiIndex = await createMultiPlatformLayout(multiLayout, 'v1', [linuxAmd64, linuxArm64]);
    cachedImage = await createSinglePlatformLayout(cachedLayout, '1.0', linuxArm64);

    upstream = await startUpstreamRegistry();
    await skopeo.push(`oci:${cachedLayout}:1.0`, upstream.dockerReference('library/cached:1.0'));

    wharf = await startWharf({
      config: {
        database: {
          type: 'sqlite',
          path: join(workDirectory, 'wharf.db'),
          // Unused with SQLite; it is here to show that a password in a URL is redacted.
          url: `postgres://wharf:${databasePassword}@127.0.0.1/wharf`,
        },
        auth: { htpasswd: { path: htpasswdPath }, failedLogins: { limit: 20, window: '1m', delay: '10ms' } },
        access: policy,
        upstreams: [
          {
            prefix: 'docker',
            url: upstream.url,
            dockerHub: true,
            username: 'wharf',
            passwordFile: passwordFilePath,
          },
          { prefix: 'down', url: `http://127.0.0.1:${await closedPort()}`, timeout: '2s' },
        ],
      },
    });

    await pushToWharf(appLayout, 'v1', 'team/app:v1');
    await pushToWharf(appLayout, 'v1', 'team/app:old');
    await pushToWharf(multiLayout, 'v1', 'team/multi:v1', ['--all']);
    await pushToWharf(appLayout, 'v1', 'team/gone:v1');
    await pushToWharf(appLayout, 'v1', 'private/secret:v1');

    // An SBOM that refers to team/app:v1, pushed as an OCI artifact with a subject.
    const emptyConfig = createBlob('{}', mediaTypes.empty);
    const sbom = createBlob(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'team/app' }), sbomType);
    const subject: Descriptor = {
      mediaType: appImage.manifest.mediaType,
      digest: appImage.manifest.digest,
      size: appImage.manifest.size,
    };

    sbomBlobs = [emptyConfig, sbom];
    sbomManifest = createBlob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.imageManifest,
        artifactType: sbomType,
        config: { mediaType: emptyConfig.mediaType, digest: emptyConfig.digest, size: emptyConfig.size },
        layers: [{ mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.size }],
        subject,
        annotations: { 'com.example.kind': 'sbom' },
      }),
      mediaTypes.imageManifest,
    );

    for (const blob of sbomBlobs) {
      await pushBlobOverV2('team/app', blob);
    }

    const put = await api(`/v2/team/app/manifests/${sbomManifest.digest}`, 'admin', {
      method: 'PUT',
      headers: { 'content-type': mediaTypes.imageManifest },
      body: sbomManifest.bytes,
    });

    assert.equal(put.status, 201, put.text);

    await pushToWharf(appLayout, 'v1', 'tools/zeta:v1');

    // Pull-through traffic: one image through the working upstream, one failure through the dead one.
    await skopeo.pull(
      `docker://${wharf.hostPort}/docker/cached:1.0`,
      `oci:${join(workDirectory, 'pulled')}:1.0`,
      ['--src-creds', `admin:${passwords.admin}`],
    );

    const failed = await api('/v2/down/tool/manifests/1.0', 'admin');

    assert.ok([502, 503, 504].includes(failed.status), `pull from a dead upstream: ${failed.status}`);
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();

    if (workDirectory) {
      await rm(workDirectory, { recursive: true, force: true });
    }
  });

  describe('repository listing', () => {
    const allNames = [
      'docker/library/cached',
      'private/secret',
      'team/app',
      'team/gone',
      'team/multi',
      'tools/zeta',
    ];

    it('lists every repository for an admin', async () => {
      const page = await ok<Page<RepositoryItem>>('/api/v1/repositories');

      assert.equal(page.total, allNames.length);
      assert.deepEqual(
        page.items.map((item) => item.name),
        allNames,
      );
    });

    it('reports sizes, counts and times', async () => {
      const page = await ok<Page<RepositoryItem>>('/api/v1/repositories?q=team/app');
      const app = page.items.find((item) => item.name === 'team/app');
      const blobs = [appImage.config, ...appImage.layers, ...sbomBlobs];

      assert.ok(app, JSON.stringify(page));
      assert.equal(app.kind, 'local');
      assert.equal(app.upstream, null);
      assert.equal(
        app.size,
        blobs.reduce((sum, blob) => sum + blob.size, 0),
      );
      assert.equal(app.tagCount, 2);
      assert.equal(app.manifestCount, 2);
      assert.ok(
        app.lastPushAt !== null && !Number.isNaN(Date.parse(app.lastPushAt)),
        app.lastPushAt ?? 'null',
      );
      assert.ok(!Number.isNaN(Date.parse(app.createdAt)), app.createdAt);
      assert.equal(app.lastPullAt, null);
    });

    it('searches by substring ignoring case', async () => {
      assert.deepEqual(await names('&q=TEAM'), ['team/app', 'team/gone', 'team/multi']);
      assert.deepEqual(await names('&q=zet'), ['tools/zeta']);
      assert.deepEqual(await names('&q=_'), []);
    });

    it('filters cached and local', async () => {
      const cached = await ok<Page<RepositoryItem>>('/api/v1/repositories?kind=cached');

      assert.deepEqual(
        cached.items.map((item) => [item.name, item.kind, item.upstream]),
        [['docker/library/cached', 'cached', 'docker']],
      );
      assert.deepEqual(await names('&upstream=docker'), ['docker/library/cached']);
      assert.deepEqual(await names('&upstream=down'), []);
      assert.deepEqual(
        await names('&kind=local'),
        allNames.filter((name) => !name.startsWith('docker/')),
      );
    });

    it('sorts by name descending', async () => {
      assert.deepEqual(await names('&sort=name&order=desc'), [...allNames].reverse());
    });

    it('sorts by last push, newest first', async () => {
      const page = await ok<Page<RepositoryItem>>('/api/v1/repositories?sort=lastPush');
      const times = page.items.map((item) => Date.parse(item.lastPushAt ?? ''));

      // The pull-through fetch wrote the cached repository last, and tools/zeta was the last push.
      assert.deepEqual(
        page.items.slice(0, 2).map((item) => item.name),
        ['docker/library/cached', 'tools/zeta'],
      );

      for (let index = 1; index < times.length; index++) {
        assert.ok(times[index - 1] >= times[index], `lastPushAt out of order: ${JSON.stringify(page.items)}`);
      }
    });

    it('sorts by last pull with unpulled last', async () => {
      const page = await waitFor(
        () => ok<Page<RepositoryItem>>('/api/v1/repositories?sort=lastPull'),
        (value) => value.items[0]?.lastPullAt !== null,
        'the pull-through pull should get a last pull time',
      );

      assert.equal(page.items[0].name, 'docker/library/cached');
      assert.ok(
        page.items.slice(1).every((item) => item.lastPullAt === null),
        JSON.stringify(page.items),
      );
      assert.equal(page.items.length, allNames.length);
    });

    it('pages without overlap', async () => {
      const seen: string[] = [];

      for (let page = 1; page <= 3; page++) {
        const result = await ok<Page<RepositoryItem>>(`/api/v1/repositories?page=${page}&pageSize=2`);

        assert.equal(result.total, allNames.length);
        assert.equal(result.page, page);
        assert.equal(result.pageSize, 2);
        assert.equal(result.items.length, 2);
        seen.push(...result.items.map((item) => item.name));
      }

      const beyond = await ok<Page<RepositoryItem>>('/api/v1/repositories?page=4&pageSize=2');

      assert.deepEqual(seen, allNames);
      assert.equal(beyond.total, allNames.length);
      assert.deepEqual(beyond.items, []);
    });
  });

  describe('per-caller filtering', () => {
    it('hides unreadable repositories from a reader', async () => {
      const page = await ok<Page<RepositoryItem>>('/api/v1/repositories', 'reader');

      assert.equal(page.total, 5);
      assert.ok(!page.items.some((item) => item.name === 'private/secret'), JSON.stringify(page.items));
    });

    it('pages the filtered list', async () => {
      const first = await ok<Page<RepositoryItem>>(
        '/api/v1/repositories?pageSize=2&sort=name&order=desc',
        'reader',
      );
      const third = await ok<Page<RepositoryItem>>(
        '/api/v1/repositories?pageSize=2&page=3&sort=name&order=desc',
        'reader',
      );

      assert.equal(first.total, 5);
      assert.deepEqual(
        first.items.map((item) => item.name),
        ['tools/zeta', 'team/multi'],
      );
      assert.deepEqual(
        third.items.map((item) => item.name),
        ['docker/library/cached'],
      );
    });

    it('shows the owner their private repository', async () => {
      assert.ok((await names('', 'owner')).includes('private/secret'));
    });

    it('returns 404 for unreadable and missing', async () => {
      const hidden = await api(`/api/v1/repositories/${encoded('private/secret')}/tags`, 'reader');
      const missing = await api(`/api/v1/repositories/${encoded('private/nothing')}/tags`, 'reader');

      assertError(hidden, 404, 'NAME_UNKNOWN');
      assertError(missing, 404, 'NAME_UNKNOWN');
      assert.equal(
        (hidden.body as ErrorResponse).errors[0].message,
        (missing.body as ErrorResponse).errors[0].message,
      );
    });

    it('rejects anonymous callers', async () => {
      assertError(await api('/api/v1/repositories'), 401, 'UNAUTHORIZED');
    });
  });

  describe('one repository', () => {
    it('describes it as the listing does', async () => {
      const listed = (await ok<Page<RepositoryItem>>('/api/v1/repositories?q=team/app', 'reader')).items;
      const described = await ok<RepositoryItem>(`/api/v1/repositories/${encoded('team/app')}`, 'reader');

      assert.deepEqual(
        listed.find((item) => item.name === 'team/app'),
        described,
      );
    });

    it('takes the short name of a cached repository', async () => {
      const described = await ok<RepositoryItem>(`/api/v1/repositories/${encoded('docker/cached')}`);

      assert.equal(described.name, 'docker/library/cached');
      assert.equal(described.kind, 'cached');
      assert.equal(described.upstream, 'docker');
    });

    it('returns the same 404 for unreadable and missing', async () => {
      const hidden = await api(`/api/v1/repositories/${encoded('private/secret')}`, 'reader');
      const missing = await api(`/api/v1/repositories/${encoded('private/nothing')}`, 'reader');

      assertError(hidden, 404, 'NAME_UNKNOWN');
      assertError(missing, 404, 'NAME_UNKNOWN');
      assert.equal(hidden.text.replace('secret', 'nothing'), missing.text);
    });
  });

  describe('tags', () => {
    it('lists an image tag with size and platform', async () => {
      const page = await ok<Page<TagItem>>(`/api/v1/repositories/${encoded('team/app')}/tags`, 'reader');
      const v1 = page.items.find((tag) => tag.name === 'v1');

      assert.deepEqual(
        page.items.map((tag) => tag.name),
        ['old', 'v1'],
      );
      assert.ok(v1);
      assert.equal(v1.digest, appImage.manifest.digest);
      assert.equal(v1.mediaType, mediaTypes.imageManifest);
      assert.equal(v1.size, imageBytes(appImage));
      assert.equal(v1.sizeComplete, true);
      assert.deepEqual(v1.platforms, [{ os: 'linux', architecture: 'amd64' }]);
      assert.ok(!Number.isNaN(Date.parse(v1.lastPushAt)), v1.lastPushAt);
      assert.equal(v1.lastPullAt, null);
    });

    it('sums an index over children', async () => {
      const page = await ok<Page<TagItem>>(`/api/v1/repositories/${encoded('team/multi')}/tags`);
      const [v1] = page.items;
      const childManifests = multiIndex.images.reduce((sum, image) => sum + image.manifest.size, 0);
      const expected = multiIndex.index.size + childManifests + distinctBlobBytes(multiIndex.images);
      const everyBlobOnce =
        multiIndex.index.size + multiIndex.images.reduce((sum, image) => sum + imageBytes(image), 0);

      assert.equal(page.total, 1);
      assert.equal(v1.digest, multiIndex.index.digest);
      assert.equal(v1.mediaType, mediaTypes.imageIndex);
      assert.equal(v1.size, expected);
      assert.ok(expected < everyBlobOnce, 'the children should share layers, which count once');
      assert.equal(v1.sizeComplete, true);
      assert.deepEqual(v1.platforms, [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ]);
    });

    it('tells whether the caller may delete', async () => {
      const canDelete = async (name: string, user: User) =>
        (await ok<{ canDelete: boolean }>(`/api/v1/repositories/${encoded(name)}/tags`, user)).canDelete;

      assert.equal(await canDelete('team/app', 'reader'), false);
      assert.equal(await canDelete('team/app', 'deleter'), true);
      assert.equal(await canDelete('team/app', 'admin'), true);
      // Cached repositories are read-only, even for an administrator.
      assert.equal(await canDelete('docker/cached', 'admin'), false);
    });

    it('pages tags', async () => {
      const page = await ok<Page<TagItem>>(
        `/api/v1/repositories/${encoded('team/app')}/tags?pageSize=1&page=2`,
      );

      assert.equal(page.total, 2);
      assert.deepEqual(
        page.items.map((tag) => tag.name),
        ['v1'],
      );
    });

    it('lists a cached tag by its short name', async () => {
      const page = await waitFor(
        () =>
          ok<Page<TagItem> & { repository: string }>(`/api/v1/repositories/${encoded('docker/cached')}/tags`),
        (value) => value.items[0]?.lastPullAt !== null,
        'the cached tag should get a last pull time',
      );

      assert.equal(page.repository, 'docker/library/cached');
      assert.deepEqual(
        page.items.map((tag) => [tag.name, tag.digest, tag.size]),
        [['1.0', cachedImage.manifest.digest, imageBytes(cachedImage)]],
      );
    });
  });

  describe('image details', () => {
    it('describes layers, config and referrers', async () => {
      const details = await ok<ManifestDetails>(
        `/api/v1/repositories/${encoded('team/app')}/manifests/${appImage.manifest.digest}`,
        'reader',
      );

      assert.equal(details.mediaType, mediaTypes.imageManifest);
      assert.equal(details.size, appImage.manifest.size);
      assert.deepEqual(details.manifests, []);
      assert.deepEqual(
        details.layers.map((layer) => [layer.digest, layer.mediaType, layer.size]),
        appImage.layers.map((layer) => [layer.digest, layer.mediaType, layer.size]),
      );
      assert.ok(details.config);
      assert.equal(details.config.digest, appImage.config.digest);
      assert.equal(details.config.parsed, true);
      assert.equal(details.config.os, 'linux');
      assert.equal(details.config.architecture, 'amd64');
      assert.equal(details.config.created, '2026-01-01T00:00:00.000Z');
      assert.deepEqual(details.config.env, ['PATH=/usr/local/bin:/usr/bin:/bin']);
      assert.equal(details.config.labels['org.opencontainers.image.title'], 'wharf e2e test image');
      assert.equal(details.config.history.length, appImage.layers.length);
      assert.equal(details.config.history[0].createdBy, 'COPY etc/os-release /');
      assert.deepEqual(details.referrers, [
        {
          digest: sbomManifest.digest,
          mediaType: mediaTypes.imageManifest,
          artifactType: sbomType,
          size: sbomManifest.size,
          annotations: { 'com.example.kind': 'sbom' },
        },
      ]);
    });

    it('lists the platforms of an index', async () => {
      const details = await ok<ManifestDetails>(
        `/api/v1/repositories/${encoded('team/multi')}/manifests/${multiIndex.index.digest}`,
      );

      assert.equal(details.mediaType, mediaTypes.imageIndex);
      assert.equal(details.config, null);
      assert.deepEqual(
        details.manifests.map((child) => [child.digest, child.platform?.os, child.platform?.architecture]),
        multiIndex.images.map((image) => [
          image.manifest.digest,
          image.manifest.platform?.os,
          image.manifest.platform?.architecture,
        ]),
      );
    });

    it('describes a cached image', async () => {
      const details = await ok<ManifestDetails>(
        `/api/v1/repositories/${encoded('docker/library/cached')}/manifests/${cachedImage.manifest.digest}`,
        'reader',
      );

      assert.equal(details.repository, 'docker/library/cached');
      assert.equal(details.config?.architecture, 'arm64');
      assert.equal(details.layers.length, cachedImage.layers.length);
    });

    it('returns 404 for a missing manifest', async () => {
      const response = await api(
        `/api/v1/repositories/${encoded('team/app')}/manifests/sha256:${'0'.repeat(64)}`,
        'admin',
      );

      assertError(response, 404, 'MANIFEST_UNKNOWN');
    });

    it('hides unreadable manifests', async () => {
      const response = await api(
        `/api/v1/repositories/${encoded('private/secret')}/manifests/${appImage.manifest.digest}`,
        'reader',
      );

      assertError(response, 404, 'NAME_UNKNOWN');
    });
  });

  describe('deletes', () => {
    const tagPath = (name: string, tag: string) => `/api/v1/repositories/${encoded(name)}/tags/${tag}`;
    const manifestPath = (name: string, digest: string) =>
      `/api/v1/repositories/${encoded(name)}/manifests/${digest}`;

    it('refuses a reader with 403', async () => {
      const message = assertError(
        await api(tagPath('team/app', 'old'), 'reader', { method: 'DELETE' }),
        403,
        'DENIED',
      );

      assert.match(message, /may not delete from "team\/app"/);
      assert.deepEqual(
        (await ok<Page<TagItem>>(`/api/v1/repositories/${encoded('team/app')}/tags`)).items.map(
          (tag) => tag.name,
        ),
        ['old', 'v1'],
      );
    });

    it('hides an unreadable repository with 404', async () => {
      assertError(
        await api(tagPath('private/secret', 'v1'), 'deleter', { method: 'DELETE' }),
        404,
        'NAME_UNKNOWN',
      );
    });

    it('deletes a tag with delete rights', async () => {
      const response = await api(tagPath('team/app', 'old'), 'deleter', { method: 'DELETE' });

      assert.equal(response.status, 204, response.text);
      assert.deepEqual(
        (await ok<Page<TagItem>>(`/api/v1/repositories/${encoded('team/app')}/tags`)).items.map(
          (tag) => tag.name,
        ),
        ['v1'],
      );

      const records = await wharf.waitForLog(
        (record) => record.audit === true && record.event === 'delete' && record.reference === 'old',
      );

      assert.equal(records.length, 1, wharf.output());
      assert.equal(records[0].user, 'deleter');
      assert.equal(records[0].repository, 'team/app');
      assert.equal(records[0].address, '127.0.0.1');
      assert.equal(records[0].via, 'admin-api');
    });

    it('deletes a manifest by digest', async () => {
      const digest = appImage.manifest.digest;
      const response = await api(manifestPath('team/gone', digest), 'deleter', { method: 'DELETE' });

      assert.equal(response.status, 204, response.text);
      assertError(await api(manifestPath('team/gone', digest), 'admin'), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await ok<Page<TagItem>>(`/api/v1/repositories/${encoded('team/gone')}/tags`)).total, 0);

      // The same manifest in another repository is untouched.
      await ok<ManifestDetails>(manifestPath('team/app', digest));

      const records = await wharf.waitForLog(
        (record) =>
          record.audit === true &&
          record.event === 'delete' &&
          record.repository === 'team/gone' &&
          record.reference === digest,
      );

      assert.equal(records.length, 1, wharf.output());
      assert.equal(records[0].user, 'deleter');
    });

    it('returns 404 for a missing tag', async () => {
      assertError(
        await api(tagPath('team/app', 'missing'), 'deleter', { method: 'DELETE' }),
        404,
        'MANIFEST_UNKNOWN',
      );
    });

    it('keeps cached repositories read-only', async () => {
      const message = assertError(
        await api(tagPath('docker/library/cached', '1.0'), 'admin', { method: 'DELETE' }),
        403,
        'DENIED',
      );

      assert.match(message, /read-only/);
    });

    it('audits only the deletes that happened', () => {
      const deletes = wharf
        .logRecords()
        .filter((record) => record.audit === true && record.event === 'delete');

      assert.deepEqual(
        deletes.map((record) => [record.user, record.repository, record.reference]),
        [
          ['deleter', 'team/app', 'old'],
          ['deleter', 'team/gone', appImage.manifest.digest],
        ],
      );
    });
  });

  describe('upstreams', () => {
    it('reports cache statistics and status', async () => {
      const body = await waitFor(
        () => ok<{ upstreams: UpstreamItem[] }>('/api/v1/upstreams', 'reader'),
        (value) =>
          (value.upstreams.find((item) => item.prefix === 'docker')?.statistics.misses ?? 0) > 0 &&
          (value.upstreams.find((item) => item.prefix === 'down')?.statistics.errors ?? 0) > 0,
        'the pull-through statistics should be written',
      );
      const docker = body.upstreams.find((item) => item.prefix === 'docker');
      const down = body.upstreams.find((item) => item.prefix === 'down');

      assert.deepEqual(
        body.upstreams.map((item) => item.prefix),
        ['docker', 'down'],
      );
      assert.ok(docker, 'docker is missing');
      assert.ok(down, 'down is missing');
      assert.equal(docker.url, upstream.url);
      assert.equal(docker.cachedRepositories, 1);
      // The cached image's manifest, config and layers, counted even where team/app stores them too.
      assert.equal(docker.storageBytes, imageBytes(cachedImage));
      assert.equal(down.storageBytes, 0);
      // Layers that team/app already stored are linked without a download, so only some bytes are fetched.
      assert.ok(docker.statistics.misses >= 1, JSON.stringify(docker.statistics));
      assert.ok(
        docker.statistics.bytesFetched >= cachedImage.manifest.size,
        JSON.stringify(docker.statistics),
      );
      assert.ok(docker.statistics.hits + docker.statistics.misses >= 2, JSON.stringify(docker.statistics));
      assert.equal(docker.statistics.errors, 0);
      // The latest docker request may be a referrers query, and Distribution 2.8 returns 404 for those.
      assert.equal(docker.status.reachable, true);
      assert.equal(docker.status.lastError, null);
      assert.equal(docker.rateLimit, null);
      assert.equal(down.cachedRepositories, 0);
      assert.equal(down.statistics.errorsByKind.network, down.statistics.errors);
      assert.equal(down.status.reachable, false);
      assert.equal(down.status.lastResult, 'network');
      assert.equal(down.status.lastError?.kind, 'network');
      assert.ok(!Number.isNaN(Date.parse(down.status.lastError?.at ?? '')));
    });
  });

  describe('system', () => {
    it('refuses non-admins', async () => {
      assertError(await api('/api/v1/system', 'reader'), 403, 'DENIED');
    });

    it('shows version and features', async () => {
      const body = await ok<{
        version: string;
        features: { auth: Record<string, boolean>; upstreams: string[]; database: string };
      }>('/api/v1/system');
      const packageJson = findPackage(import.meta.url);

      assert.equal(body.version, packageJson.version);
      assert.deepEqual(body.features.auth, {
        enabled: true,
        htpasswd: true,
        oidc: false,
        forwardAuth: false,
        apiKeys: true,
      });
      assert.deepEqual(body.features.upstreams, ['docker', 'down']);
      assert.equal(body.features.database, 'sqlite');
    });

    it('shows config without secrets', async () => {
      const response = await api<{
        config: { upstreams: { passwordFile?: string }[]; database: { url: string } };
      }>('/api/v1/system', 'admin');

      assert.equal(response.status, 200);
      assert.equal(response.body.config.upstreams[0].passwordFile, passwordFilePath);
      assert.equal(response.body.config.database.url, 'postgres://wharf:redacted@127.0.0.1/wharf');

      for (const secret of [upstreamPassword, databasePassword, ...Object.values(passwords)]) {
        assert.ok(!response.text.includes(secret), `the system report contains the secret ${secret}`);
      }
    });
  });

  describe('bad requests', () => {
    it('names a too large pageSize', async () => {
      const message = assertError(
        await api('/api/v1/repositories?pageSize=1000', 'admin'),
        400,
        'BAD_REQUEST',
      );

      assert.match(message, /pageSize must not be greater than 100/);
    });

    it('names an unknown kind', async () => {
      assert.match(
        assertError(await api('/api/v1/repositories?kind=remote', 'admin'), 400, 'BAD_REQUEST'),
        /^kind must be/,
      );
    });

    it('names an unconfigured upstream', async () => {
      const message = assertError(
        await api('/api/v1/repositories?upstream=quay', 'admin'),
        400,
        'BAD_REQUEST',
      );

      assert.match(message, /upstream must be a configured upstream prefix \(docker, down\)/);
    });

    it('rejects unknown query parameters', async () => {
      assert.match(
        assertError(await api('/api/v1/repositories?size=1', 'admin'), 400, 'BAD_REQUEST'),
        /size should not exist/,
      );
    });

    it('names an invalid repository name', async () => {
      const message = assertError(
        await api(`/api/v1/repositories/${encoded('Team/App')}/tags`, 'admin'),
        400,
        'BAD_REQUEST',
      );

      assert.match(message, /^name is invalid: the name must be lower case/);
    });

    it('returns 404 JSON for unknown routes', async () => {
      assertError(await api('/api/v1/nothing', 'admin'), 404, 'NOT_FOUND');
    });

    it('hints at encoding slashes', async () => {
      const message = assertError(await api('/api/v1/repositories/team/app/tags', 'admin'), 404, 'NOT_FOUND');

      assert.match(message, /%2F/);
    });
  });

  describe('OpenAPI document', () => {
    interface OpenApiDocument {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }

    let document: OpenApiDocument;

    before(async () => {
      const response = await api<OpenApiDocument>('/api/docs-json');

      assert.equal(response.status, 200, response.text);
      document = response.body;
    });

    /** Lists `METHOD /path` of the document's operations, with `{param}` path templates. */
    function documentedRoutes(prefix: string): string[] {
      return Object.entries(document.paths)
        .filter(([path]) => path.startsWith(prefix))
        .flatMap(([path, operations]) =>
          Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
        )
        .sort();
    }

    /** Lists the routes Nest logged as mapped at start-up, in the document's notation. */
    function registeredRoutes(prefix: string): string[] {
      return wharf
        .logRecords()
        .flatMap((record) => {
          const match = /^Mapped \{(\S+), (\w+)\} route$/.exec(String(record.msg));

          return match ? [{ path: match[1], method: match[2] }] : [];
        })
        .filter(({ path, method }) => path.startsWith(prefix) && method !== 'ALL')
        .map(({ path, method }) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`)
        .sort();
    }

    it('lists every admin route', () => {
      const registered = registeredRoutes('/api/v1/');

      assert.ok(registered.length >= 9, `too few mapped routes were logged: ${registered.join(', ')}`);
      assert.deepEqual(documentedRoutes('/api/v1/'), registered);
      assert.deepEqual(documentedRoutes('/api/v1/'), [
        'DELETE /api/v1/apikeys/{id}',
        'DELETE /api/v1/repositories/{name}/manifests/{digest}',
        'DELETE /api/v1/repositories/{name}/tags/{tag}',
        'DELETE /api/v1/signing/cosign/keys/{name}',
        'DELETE /api/v1/signing/notation/trust-policy',
        'DELETE /api/v1/signing/notation/trust-stores/{store}/certificates/{name}',
        'GET /api/v1/apikeys',
        'GET /api/v1/gc',
        'GET /api/v1/repositories',
        'GET /api/v1/repositories/{name}',
        'GET /api/v1/repositories/{name}/manifests/{digest}',
        'GET /api/v1/repositories/{name}/manifests/{digest}/sbom',
        'GET /api/v1/repositories/{name}/manifests/{digest}/signatures',
        'GET /api/v1/repositories/{name}/manifests/{digest}/vulnerabilities',
        'GET /api/v1/repositories/{name}/tags',
        'GET /api/v1/scrub',
        'GET /api/v1/signing/trust',
        'GET /api/v1/system',
        'GET /api/v1/upstreams',
        'GET /api/v1/upstreams/history',
        'GET /api/v1/vulndb',
        'GET /api/v1/vulnerabilities/{id}',
        'GET /api/v1/vulnerabilities/{id}/images',
        'POST /api/v1/apikeys',
        'POST /api/v1/gc',
        'POST /api/v1/scans',
        'POST /api/v1/scrub',
        'POST /api/v1/signing/trust/reload',
        'POST /api/v1/vulndb/import',
        'POST /api/v1/vulndb/refresh',
        'PUT /api/v1/signing/cosign/keys/{name}',
        'PUT /api/v1/signing/notation/trust-policy',
        'PUT /api/v1/signing/notation/trust-stores/{store}/certificates/{name}',
      ]);
    });

    it('documents a success response for each', () => {
      for (const [path, operations] of Object.entries(document.paths)) {
        if (
          !path.startsWith('/api/v1/repositories') &&
          !path.startsWith('/api/v1/upstreams') &&
          !path.startsWith('/api/v1/system') &&
          !path.startsWith('/api/v1/scrub') &&
          !path.startsWith('/api/v1/gc') &&
          !path.startsWith('/api/v1/scans') &&
          !path.startsWith('/api/v1/vulndb') &&
          !path.startsWith('/api/v1/vulnerabilities') &&
          !path.startsWith('/api/v1/signing')
        ) {
          continue;
        }

        for (const [method, operation] of Object.entries(operations)) {
          const codes = Object.keys(operation.responses);

          assert.ok(
            codes.includes('200') || codes.includes('202') || codes.includes('204'),
            `${method} ${path} documents ${codes.join(', ')}`,
          );
        }
      }
    });

    it('leaves out the registry API', () => {
      assert.deepEqual(documentedRoutes('/v2'), []);
    });

    it('serves Swagger UI without sign-in', async () => {
      const response = await api('/api/docs');

      assert.equal(response.status, 200);
      assert.match(response.contentType ?? '', /^text\/html/);
      assert.match(response.text, /swagger-ui/);
    });
  });
});

describe('admin API without authentication', () => {
  let wharf: WharfServer;
  let client: OciClient;
  const image = createImage({ layerCount: 1 });

  before(async () => {
    wharf = await startWharf();
    client = new OciClient(wharf.baseUrl);
    await client.pushImage('open/app', 'v1', image);
  });

  after(async () => {
    await wharf?.dispose();
  });

  it('lets anonymous callers read and delete', async () => {
    const list = await client.getJson<Page<RepositoryItem>>('/api/v1/repositories');

    assert.deepEqual(
      list.body.items.map((item) => item.name),
      ['open/app'],
    );

    const system = await client.getJson<{ features: { auth: { enabled: boolean } } }>('/api/v1/system');

    assert.equal(system.body.features.auth.enabled, false);

    const deleted = await client.fetch('/api/v1/repositories/open%2Fapp/tags/v1', { method: 'DELETE' });

    assert.equal(deleted.status, 204, await deleted.text());
  });

  it('describes an image whose config blob is gone', async () => {
    const removed = await client.fetch(`/v2/open/app/blobs/${image.config.digest}`, { method: 'DELETE' });

    assert.equal(removed.status, 202, await removed.text());

    const { body } = await client.getJson<ManifestDetails>(
      `/api/v1/repositories/open%2Fapp/manifests/${image.manifest.digest}`,
    );

    assert.equal(body.config?.digest, image.config.digest);
    assert.equal(body.config?.parsed, false);
    assert.equal(body.layers.length, 1);
  });
});
