import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';

import { findPackage } from '../../src/common/package-info.js';
import { basicAuthorization, writeHtpasswd } from '../support/htpasswd.js';
import { type Descriptor, linuxAmd64 } from '../support/oci-layout.js';
import {
  downloadDebs,
  installDebs,
  npmLockfile,
  tarDirectory,
  writeLayeredImage,
} from '../support/scan-images.js';
import { cycloneDxValidator, spdxValidator } from '../support/sbom-schemas.js';
import { Skopeo } from '../support/skopeo.js';
import { startUpstreamRegistry, type UpstreamRegistry } from '../support/upstream-registry.js';
import { runWharfCli } from '../support/wharf-cli.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

interface Finding {
  id: string;
  aliases: string[];
  severity: string;
  score: number | null;
  package: { type: string; name: string; sourceName?: string; location: string };
  installedVersion: string;
  fixedVersion: string | null;
  image: string;
}

interface Vulnerabilities {
  images: {
    digest: string;
    status: string;
    os: { id: string; versionId: string } | null;
    packageCount: number;
    warnings: string[];
    complete: boolean;
    progress: { reason: string; layersRead: number } | null;
  }[];
  summary: { scanned: number; incomplete: number; highest: string | null; counts: Record<string, number> };
  findings: Finding[];
}

const admin = { user: 'admin', password: randomBytes(12).toString('base64url') };
const authorization = basicAuthorization(admin.user, admin.password);
const fixtures = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'osv');
const scanDeadlineMs = 60_000;
const criticalVector = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

/**
 * Scanning end to end: images built from real Debian 12 packages (fetched with apt-get download) and a
 * real npm lockfile, pushed with skopeo, scanned on push, matched against real OSV records and records
 * written here for the installed Debian versions; the SBOM referrers, the pull policy, a database
 * import changing the next result, `wharf scan` and bad layers.
 */
describe('vulnerability scanning', () => {
  let work: string;
  let wharf: WharfServer;
  let upstream: UpstreamRegistry;
  let skopeo: Skopeo;
  let layout: string;
  let image: Descriptor;
  let badImage: Descriptor;
  let cachedImage: Descriptor;
  let expatVersion: string;
  let expatSource: string;

  async function api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${wharf.baseUrl}${path}`, {
      ...init,
      headers: { authorization, ...(init.headers as Record<string, string> | undefined) },
    });
  }

  async function importRecords(
    records: unknown[],
  ): Promise<{ added: number; updated: number; skipped: number }> {
    const response = await api('/api/v1/vulndb/import', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: records.map((record) => JSON.stringify(record)).join('\n'),
    });

    assert.equal(response.status, 200, await response.clone().text());

    return (await response.json()) as { added: number; updated: number; skipped: number };
  }

  async function vulnerabilities(repository: string, digest: string): Promise<Vulnerabilities> {
    const response = await api(
      `/api/v1/repositories/${encodeURIComponent(repository)}/manifests/${digest}/vulnerabilities`,
    );

    assert.equal(response.status, 200, await response.clone().text());

    return (await response.json()) as Vulnerabilities;
  }

  /** Waits until every image of the manifest has a finished scan that `done` accepts. */
  async function scanned(
    repository: string,
    digest: string,
    done: (result: Vulnerabilities) => boolean = () => true,
  ): Promise<Vulnerabilities> {
    const deadline = Date.now() + scanDeadlineMs;
    let result = await vulnerabilities(repository, digest);

    while (
      !(result.images.every((entry) => entry.status === 'done') && done(result)) &&
      Date.now() < deadline
    ) {
      await sleep(200);
      result = await vulnerabilities(repository, digest);
    }

    assert.ok(
      result.images.every((entry) => entry.status === 'done') && done(result),
      `scan did not finish as expected: ${JSON.stringify(result).slice(0, 2000)}`,
    );

    return result;
  }

  /** A Debian 12 advisory for the source package `expat`, fixed just above the installed version. */
  function expatRecord(id: string, fixed: string, extra: Record<string, unknown> = {}) {
    return {
      schema_version: '1.6.0',
      id,
      modified: new Date().toISOString(),
      aliases: [`CVE-2099-${id.length}${fixed.length}`],
      summary: `expat advisory written for the Wharf test (${id})`,
      severity: [{ type: 'CVSS_V3', score: criticalVector }],
      affected: [
        {
          package: { ecosystem: 'Debian:12', name: expatSource },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
        },
      ],
      ...extra,
    };
  }

  async function fixtureRecords(): Promise<unknown[]> {
    const records: unknown[] = [];

    for (const ecosystem of await readdir(fixtures)) {
      for (const file of await readdir(join(fixtures, ecosystem)).catch(() => [])) {
        if (file.endsWith('.json')) {
          records.push(JSON.parse(await readFile(join(fixtures, ecosystem, file), 'utf8')));
        }
      }
    }

    return records;
  }

  async function push(tag: string, destination: string): Promise<void> {
    await skopeo.push(`oci:${layout}:${tag}`, `docker://${wharf.hostPort}/${destination}`, [
      '--dest-creds',
      `${admin.user}:${admin.password}`,
    ]);
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-scan-'));

    const root = join(work, 'rootfs');
    const app = join(work, 'app');
    const debs = await downloadDebs(join(work, 'debs'), ['base-files', 'zlib1g', 'libexpat1']);

    await mkdir(root);
    await installDebs(root, debs);

    const status = await readFile(join(root, 'var/lib/dpkg/status'), 'utf8');
    const expat = /Package: libexpat1\n(?:[^\n]+\n)*?Version: (\S+)/.exec(status);
    const source = /Package: libexpat1\n(?:[^\n]+\n)*?Source: (\S+)/.exec(status);

    assert.ok(expat, 'libexpat1 has a Version');
    expatVersion = expat[1];
    expatSource = source?.[1] ?? 'expat';

    const lockfile = await npmLockfile(join(work, 'npm'), [
      'minimist@1.2.5',
      'lodash@4.17.19',
      'semver@7.5.1',
    ]);

    await mkdir(join(app, 'app'), { recursive: true });
    await writeFile(join(app, 'app', 'package-lock.json'), lockfile);
    // Incompressible bytes that tar sorts before the lockfile, so that the scan must read several
    // MiB of the layer stream intact to reach it.
    await writeFile(join(app, 'app', 'assets.bin'), randomBytes(6 * 1024 * 1024));

    const debianLayer = await tarDirectory(root);
    const appLayer = await tarDirectory(app);

    layout = join(work, 'layout');
    image = await writeLayeredImage(layout, 'v1', linuxAmd64, [{ tar: debianLayer }, { tar: appLayer }]);
    // An image of its own for the upstream, so that its scan cannot reuse another's inventory.
    cachedImage = await writeLayeredImage(layout, 'cached', linuxAmd64, [{ tar: appLayer }]);
    // skopeo may rewrite this manifest, so the test reads the pushed digest back.
    await writeLayeredImage(layout, 'unreadable', linuxAmd64, [
      {
        raw: Buffer.from('this is not a tar archive\n'),
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
      },
    ]);
    badImage = await writeLayeredImage(layout, 'bad', linuxAmd64, [
      { raw: randomBytes(4096), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
      {
        raw: gzipSync(debianLayer).subarray(0, 20_000),
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
      { tar: appLayer },
    ]);

    const htpasswd = join(work, 'htpasswd');

    skopeo = await Skopeo.create(join(work, 'skopeo'));
    upstream = await startUpstreamRegistry();
    await skopeo.push(`oci:${layout}:cached`, upstream.dockerReference('library/app:v1'));

    await writeHtpasswd(htpasswd, { [admin.user]: admin.password });
    await mkdir(join(work, 'data'));
    wharf = await startWharf({
      rootDirectory: join(work, 'data'),
      config: {
        auth: { htpasswd: { path: htpasswd } },
        access: { admins: { users: [admin.user] } },
        upstreams: [{ prefix: 'hub', url: upstream.url }],
        scanning: {
          policies: [
            { repositories: 'prod/**', severity: 'HIGH' },
            {
              repositories: 'staging/**',
              severity: 'HIGH',
              allow: ['CVE-2021-44906', 'GHSA-p6mc-m468-83gw', 'WHARF-TEST-EXPAT-1'],
            },
            { repositories: 'lenient/**', severity: 'critical', allowIncomplete: true },
          ],
        },
      },
    });
    await importRecords(await fixtureRecords());
    await push('v1', 'team/app:v1');
  });

  after(async () => {
    await wharf?.dispose();
    await upstream?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  it('takes the inventory of a push', async () => {
    const result = await scanned('team/app', image.digest);
    const [entry] = result.images;

    const lock = JSON.parse(await readFile(join(work, 'npm', 'package-lock.json'), 'utf8')) as {
      packages: Record<string, unknown>;
    };

    assert.equal(entry.complete, true);
    assert.equal(result.summary.incomplete, 0);
    assert.equal(entry.os?.id, 'debian');
    assert.equal(entry.os?.versionId, '12');
    // base-files, zlib1g, libexpat1, and every package of the lockfile but the app itself.
    assert.equal(entry.packageCount, 3 + Object.keys(lock.packages).length - 1, JSON.stringify(entry));
  });

  it('finds the real npm advisories with their fixed versions and severities', async () => {
    const result = await scanned('team/app', image.digest);
    const byPackage = new Map(result.findings.map((finding) => [finding.package.name, finding]));

    assert.deepEqual(
      ['lodash', 'minimist', 'semver'].map((name) => {
        const finding = byPackage.get(name);

        return [
          name,
          finding?.id,
          finding?.installedVersion,
          finding?.fixedVersion,
          finding?.package.location,
        ];
      }),
      [
        ['lodash', 'GHSA-p6mc-m468-83gw', '4.17.19', '4.17.20', '/app/package-lock.json'],
        ['minimist', 'GHSA-xvch-5gv4-984h', '1.2.5', '1.2.6', '/app/package-lock.json'],
        ['semver', 'GHSA-c2qf-rxjj-qqgw', '7.5.1', '7.5.2', '/app/package-lock.json'],
      ],
    );
    assert.equal(byPackage.get('minimist')?.severity, 'CRITICAL');
    assert.ok(byPackage.get('minimist')?.aliases.includes('CVE-2021-44906'));
    assert.equal(result.summary.highest, 'CRITICAL');
  });

  it('attaches SPDX and CycloneDX SBOMs as referrers of the image', async () => {
    await scanned('team/app', image.digest);

    const deadline = Date.now() + 10_000;
    let referrers: { manifests: { digest: string; artifactType: string }[] } = { manifests: [] };

    while (referrers.manifests.length < 2 && Date.now() < deadline) {
      const response = await api(`/v2/team/app/referrers/${image.digest}`);

      referrers = (await response.json()) as typeof referrers;
      await sleep(100);
    }

    assert.deepEqual(referrers.manifests.map((entry) => entry.artifactType).sort(), [
      'application/spdx+json',
      'application/vnd.cyclonedx+json',
    ]);

    for (const entry of referrers.manifests) {
      const manifest = (await (
        await api(`/v2/team/app/manifests/${entry.digest}`, {
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).json()) as { config: { digest: string }; layers: { digest: string }[]; subject: { digest: string } };

      assert.equal(manifest.subject.digest, image.digest);

      // Both artifacts share one empty config blob, which the second one does not upload again.
      const config = await api(`/v2/team/app/blobs/${manifest.config.digest}`);

      assert.equal(config.status, 200);
      assert.equal(await config.text(), '{}');

      const document = (await (
        await api(`/v2/team/app/blobs/${manifest.layers[0].digest}`)
      ).json()) as Record<string, unknown>;

      const validate =
        entry.artifactType === 'application/spdx+json' ? spdxValidator() : cycloneDxValidator();

      assert.ok(validate(document), JSON.stringify(validate.errors));

      if (entry.artifactType === 'application/spdx+json') {
        assert.equal(document.spdxVersion, 'SPDX-2.3');
        assert.ok((document.packages as { name: string }[]).some((pkg) => pkg.name === 'libexpat1'));
      } else {
        assert.equal(document.bomFormat, 'CycloneDX');
        assert.equal(document.specVersion, '1.5');
        assert.ok(
          (document.components as { name: string }[]).some((component) => component.name === 'minimist'),
        );
      }
    }
  });

  it('refuses and allows pulls as the policies say', async () => {
    await push('v1', 'prod/app:v1');
    await push('v1', 'staging/app:v1');
    await push('v1', 'dev/app:v1');
    const prod = await scanned('prod/app', image.digest);

    // The image was inventoried when pushed to team/app, so this scan reads no layer.
    assert.equal(prod.images[0].progress?.reason, 'push');
    assert.equal(prod.images[0].progress?.layersRead, 0);

    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const refused = await api('/v2/prod/app/manifests/v1', { headers: accept });
    const body = (await refused.json()) as { errors: { code: string; message: string }[] };

    assert.equal(refused.status, 403);
    assert.equal(body.errors[0].code, 'DENIED');
    assert.match(body.errors[0].message, /GHSA-xvch-5gv4-984h/);
    assert.match(body.errors[0].message, /GHSA-p6mc-m468-83gw/);
    assert.doesNotMatch(body.errors[0].message, /GHSA-c2qf-rxjj-qqgw/, 'semver is MEDIUM, below HIGH');

    const [logged] = await wharf.waitForLog((record) => record.msg === 'pull refused by scan policy');

    assert.equal(logged.repository, 'prod/app');
    assert.equal(logged.severity, 'HIGH');
    // A HEAD only resolves the reference, so it is never refused.
    assert.equal((await api('/v2/prod/app/manifests/v1', { method: 'HEAD', headers: accept })).status, 200);
    assert.equal((await api('/v2/staging/app/manifests/v1', { headers: accept })).status, 200);
    assert.equal((await api('/v2/dev/app/manifests/v1', { headers: accept })).status, 200);

    const copy = await skopeo.runExpectingFailure('copy', [
      '--src-tls-verify=false',
      '--src-creds',
      `${admin.user}:${admin.password}`,
      `docker://${wharf.hostPort}/prod/app:v1`,
      `oci:${join(work, 'pulled')}:v1`,
    ]);

    assert.match(copy, /refused by policy/);
  });

  it('matches Debian packages by source package, and an import changes the next result', async () => {
    const before = await scanned('team/app', image.digest);

    assert.equal(before.findings.filter((finding) => finding.package.type === 'dpkg').length, 0);

    const report = await importRecords([
      expatRecord('WHARF-TEST-EXPAT-1', `${expatVersion}.1`),
      // Fixed at the version installed: no finding.
      expatRecord('WHARF-TEST-EXPAT-2', expatVersion),
    ]);

    assert.equal(report.added, 2);

    const after = await scanned('team/app', image.digest, (result) =>
      result.findings.some((finding) => finding.id === 'WHARF-TEST-EXPAT-1'),
    );
    const dpkg = after.findings.filter((finding) => finding.package.type === 'dpkg');

    assert.deepEqual(
      dpkg.map((finding) => [
        finding.id,
        finding.package.name,
        finding.package.sourceName,
        finding.installedVersion,
        finding.fixedVersion,
      ]),
      [
        [
          'WHARF-TEST-EXPAT-1',
          'libexpat1',
          expatSource === 'libexpat1' ? undefined : expatSource,
          expatVersion,
          `${expatVersion}.1`,
        ],
      ],
    );

    // The staging policy allows this advisory by id; prod refuses it.
    const staging = await api('/v2/staging/app/manifests/v1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });

    assert.equal(staging.status, 200);

    const affected = (await (await api(`/api/v1/vulnerabilities/WHARF-TEST-EXPAT-1/images`)).json()) as {
      items: { repository: string; tags: string[] }[];
    };

    assert.deepEqual(affected.items.map((item) => `${item.repository}:${item.tags.join(',')}`).sort(), [
      'dev/app:v1',
      'prod/app:v1',
      'staging/app:v1',
      'team/app:v1',
    ]);
  });

  it('shows a badge summary on the tag and repository lists', async () => {
    await scanned('team/app', image.digest);

    const tags = (await (await api('/api/v1/repositories/team%2Fapp/tags')).json()) as {
      items: {
        name: string;
        vulnerabilities: { highest: string; scanned: number; counts: Record<string, number> } | null;
      }[];
    };
    const repository = (await (await api('/api/v1/repositories/team%2Fapp')).json()) as {
      vulnerabilities: { highest: string } | null;
    };

    assert.equal(tags.items[0].vulnerabilities?.highest, 'CRITICAL');
    assert.equal(tags.items[0].vulnerabilities?.scanned, 1);
    assert.equal(repository.vulnerabilities?.highest, 'CRITICAL');
  });

  it('scans with wharf scan and prints a table or JSON', async () => {
    const scanCli = (...args: string[]) =>
      runWharfCli([...args, '--url', wharf.baseUrl, '--user', admin.user, '--password-stdin'], {
        input: `${admin.password}\n`,
      });
    const table = await scanCli('scan', 'team/app:v1');

    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^SEVERITY\s+ID\s+ALIASES\s+PACKAGE\s+INSTALLED\s+FIXED/m);
    assert.match(
      table.stdout,
      /CRITICAL\s+GHSA-xvch-5gv4-984h\s+CVE-2021-44906\s+minimist\s+1\.2\.5\s+1\.2\.6/,
    );
    assert.match(table.stdout, /Debian GNU\/Linux 12/);

    const json = await scanCli('scan', `team/app@${image.digest}`, '--format', 'json', '--fail-on', 'high');

    assert.equal(json.code, 3, json.stderr);
    assert.ok((JSON.parse(json.stdout) as Vulnerabilities).findings.length >= 4);

    const pasted = await scanCli('scan', `${wharf.hostPort}/team/app:v1`);

    assert.equal(pasted.code, 0, pasted.stderr);

    const elsewhere = await scanCli('scan', 'registry.example.com/team/app:v1');

    assert.equal(elsewhere.code, 2);
    assert.match(
      elsewhere.stderr,
      /names the registry registry\.example\.com, but wharf scan asks the Wharf at/,
    );

    const missing = await scanCli('scan', 'team/none:v1');

    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no image team\/none:v1 in Wharf at http:\/\/127\.0\.0\.1:\d+/);
  });

  it('scans a cache fill through the cache', async () => {
    const manifest = await api('/v2/hub/library/app/manifests/v1', {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });

    assert.equal(manifest.status, 200);

    const result = await scanned('hub/library/app', cachedImage.digest);

    assert.ok(result.findings.some((finding) => finding.id === 'GHSA-xvch-5gv4-984h'));
    assert.equal(result.images[0].progress?.reason, 'cache');
    assert.equal(result.images[0].progress?.layersRead, 1);

    const metrics = await (await api('/metrics')).text();

    assert.match(metrics, /wharf_scans_total\{result="finished",reason="cache"\} 1/);
    // Cached repositories mirror their upstream, so no SBOM of Wharf's own is attached there.
    const referrers = (await (await api(`/v2/hub/library/app/referrers/${cachedImage.digest}`)).json()) as {
      manifests: unknown[];
    };

    assert.equal(referrers.manifests.length, 0);
  });

  it('reports bad layers as warnings and scans the rest', async () => {
    await push('bad', 'team/bad:v1');

    // skopeo may rewrite a manifest whose layers do not match their media type, so the digest
    // pushed is read back.
    const head = await api('/v2/team/bad/manifests/v1', {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const pushed = head.headers.get('docker-content-digest') ?? badImage.digest;
    const result = await scanned('team/bad', pushed);
    const [entry] = result.images;

    assert.ok(entry.warnings.length >= 2, JSON.stringify(entry.warnings));
    assert.equal(entry.complete, false);
    assert.equal(result.summary.incomplete, 1);
    assert.ok(
      entry.warnings.some((warning) => warning.includes('not a tar or gzip') || /gzip|tar/i.test(warning)),
    );
    assert.ok(
      result.findings.some((finding) => finding.package.name === 'minimist'),
      'the good layer was read',
    );
    assert.equal((await api('/livez')).status < 500, true);
  });

  it('refuses incomplete scans unless allowed', async () => {
    await push('unreadable', 'prod/unreadable:v1');
    await push('unreadable', 'lenient/unreadable:v1');

    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
    const stored = (
      await api('/v2/prod/unreadable/manifests/v1', { method: 'HEAD', headers: accept })
    ).headers.get('docker-content-digest');

    assert.ok(stored);

    const result = await scanned('prod/unreadable', stored);

    assert.deepEqual(result.findings, []);
    assert.equal(result.images[0].complete, false);
    await scanned('lenient/unreadable', stored);

    const refused = await api('/v2/prod/unreadable/manifests/v1', { headers: accept });
    const body = (await refused.json()) as { errors: { code: string; message: string }[] };

    assert.equal(refused.status, 403);
    assert.match(body.errors[0].message, /a layer of the image could not be scanned .* set allowIncomplete/);
    assert.equal((await api('/v2/lenient/unreadable/manifests/v1', { headers: accept })).status, 200);
  });

  it('counts scans and findings in the metrics', async () => {
    await scanned('team/app', image.digest);

    const text = await (await api('/metrics')).text();

    assert.match(text, /wharf_scans_total\{result="finished",reason="push"\} [1-9]/);
    assert.match(text, /wharf_vulnerability_findings\{severity="CRITICAL"\} [1-9]/);
    assert.match(text, /wharf_scanned_images [1-9]/);
    // The import of the expat records matched every stored inventory again.
    assert.match(text, /wharf_scans_total\{result="finished",reason="database"\} [1-9]/);
  });

  it('scans a push once blob downloads have ended', async () => {
    // A download held open: the test reads the first chunk of a 64 MiB blob and no more.
    const blob = randomBytes(64 * 1024 * 1024);
    const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const upload = await api('/v2/quiet/blob/blobs/uploads/', { method: 'POST' });
    const location = new URL(upload.headers.get('location') ?? '', wharf.baseUrl);

    location.searchParams.set('digest', blobDigest);

    const stored = await api(`${location.pathname}${location.search}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: blob,
    });

    assert.equal(stored.status, 201);

    const download = await api(`/v2/quiet/blob/blobs/${blobDigest}`);
    const reader = (download.body as ReadableStream<Uint8Array>).getReader();
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };

    const pushed = async (tag: string, repository: string): Promise<string> => {
      await push(tag, `${repository}:v1`);

      const digest = (
        await api(`/v2/${repository}/manifests/v1`, { method: 'HEAD', headers: accept })
      ).headers.get('docker-content-digest');

      assert.ok(digest);

      return digest;
    };

    const isScanned = async (repository: string, digest: string): Promise<boolean> =>
      (await vulnerabilities(repository, digest)).images.some((entry) => entry.status === 'done');

    await reader.read();

    const digest = await pushed('unreadable', 'quiet/app');
    const other = await pushed('bad', 'quiet/other');
    // A scan waits up to 10 s after it was queued for blob transfers to end, so none runs in 1.5 s.
    const holdUntil = Date.now() + 1500;

    while (Date.now() < holdUntil) {
      assert.equal(await isScanned('quiet/app', digest), false);
      assert.equal(await isScanned('quiet/other', other), false);
      await sleep(200);
    }

    // A scan a user asks for starts at once, ahead of the waiting one, although it was queued behind it.
    const requested = await api('/api/v1/scans', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repository: 'quiet/other', reference: other }),
    });

    assert.equal(requested.status, 202, await requested.clone().text());
    await scanned('quiet/other', other);
    assert.equal(await isScanned('quiet/app', digest), false);

    await reader.cancel();
    await scanned('quiet/app', digest);

    // Each finished scan logs one line that shows why it ran and how long it waited.
    const scanLine = async (repository: string): Promise<Record<string, unknown>> => {
      const lines = await wharf.waitForLog(
        (record) => record.msg === 'image scanned' && record.repository === repository,
      );

      assert.equal(lines.length, 1, `one scan line for ${repository}`);

      return lines[0];
    };

    const pushLine = await scanLine('quiet/app');
    const requestLine = await scanLine('quiet/other');

    assert.equal(pushLine.digest, digest);
    assert.equal(pushLine.reason, 'push');
    assert.ok(Number(pushLine.waitedMs) >= 1500, `waitedMs ${String(pushLine.waitedMs)}`);
    assert.equal(typeof pushLine.durationMs, 'number');
    assert.equal(requestLine.digest, other);
    assert.equal(requestLine.reason, 'request');
  });
});
