import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  failingLayerSource,
  generatedLayerSource,
  gzipOf,
  layerMediaTypes,
  layerSource,
  packOf,
  tarOf,
  writeTree,
  zstdOf,
} from '../../../test/support/layers.js';
import { takeInventory } from './image-inventory.js';
import type { ImageInventory, LayerSource } from './inventory.js';
import {
  compressionOfMediaType,
  linkTargetPath,
  normalizeEntryPath,
  sniffLayerFormat,
} from './layer-walker.js';
import { osCollectors } from './os-collectors.js';

const debianStatus = readFileSync('/var/lib/dpkg/status');
const debianOsRelease = readFileSync('/usr/lib/os-release');
const statusEntry = { name: 'var/lib/dpkg/status', content: debianStatus };
const osReleaseEntry = { name: 'etc/os-release', content: debianOsRelease };
const maxFileBytes = 64 * 1024 * 1024;

function inventoryOf(layers: LayerSource[], limit = maxFileBytes): Promise<ImageInventory> {
  return takeInventory(layers, osCollectors(), { maxFileBytes: limit });
}

function reasons(inventory: ImageInventory): string[] {
  return inventory.warnings.map((warning) => warning.reason);
}

describe('normalizeEntryPath', () => {
  it('makes names absolute and clean', () => {
    const cases: [string, string][] = [
      ['./usr/bin/', '/usr/bin'],
      ['etc/os-release', '/etc/os-release'],
      ['./a//b/./c', '/a/b/c'],
      ['a/../b', '/b'],
      ['./', '/'],
    ];

    for (const [name, path] of cases) {
      assert.deepEqual(normalizeEntryPath(name), { path }, name);
    }
  });

  it('rejects names that leave the image', () => {
    const cases: [string, string][] = [
      ['../../etc/passwd', 'climbs above the image root'],
      ['./a/../../b', 'climbs above the image root'],
      ['/etc/shadow', 'is an absolute path'],
      ['etc/pass\u0000wd', 'contains a NUL byte'],
    ];

    for (const [name, problem] of cases) {
      assert.deepEqual(normalizeEntryPath(name), { problem }, name);
    }
  });
});

describe('linkTargetPath', () => {
  it('resolves targets by their text', () => {
    assert.equal(linkTargetPath('/etc/os-release', '../usr/lib/os-release'), '/usr/lib/os-release');
    assert.equal(linkTargetPath('/bin', 'usr/bin'), '/usr/bin');
    assert.equal(linkTargetPath('/a/b', '/usr/lib'), '/usr/lib');
  });

  it('returns undefined above the root', () => {
    assert.equal(linkTargetPath('/a/b', '/../../x'), undefined);
    assert.equal(linkTargetPath('/etc/x', '../../y'), undefined);
  });
});

describe('compressionOfMediaType', () => {
  it('knows OCI and Docker layer types', () => {
    const cases: [string, string | undefined][] = [
      ['application/vnd.oci.image.layer.v1.tar', 'none'],
      ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
      ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
      ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
      ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
      ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
      ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
      ['application/octet-stream', undefined],
      ['application/vnd.oci.image.config.v1+json', undefined],
    ];

    for (const [mediaType, compression] of cases) {
      assert.equal(compressionOfMediaType(mediaType), compression, mediaType);
    }
  });
});

describe('sniffLayerFormat', () => {
  it('recognizes real gzip, zstd and tar bytes', async () => {
    const tar = await packOf([statusEntry]);

    assert.equal(sniffLayerFormat(tar), 'tar');
    assert.equal(sniffLayerFormat(await gzipOf(tar)), 'gzip');
    assert.equal(sniffLayerFormat(await zstdOf(tar)), 'zstd');
    assert.equal(sniffLayerFormat(Buffer.from('{"not": "a layer"}')), undefined);
    assert.equal(sniffLayerFormat(Buffer.alloc(0)), undefined);
  });
});

describe('layer walking with bad input', () => {
  let goodLayer: LayerSource;

  before(async () => {
    goodLayer = layerSource(
      await gzipOf(await packOf([statusEntry, osReleaseEntry])),
      layerMediaTypes.tarGzip,
    );
  });

  it('skips bytes that are neither gzip nor tar', async () => {
    const junk = layerSource(Buffer.from('just some text\n'.repeat(100)), 'application/octet-stream');
    const inventory = await inventoryOf([junk, goodLayer]);

    assert.deepEqual(inventory.warnings, [
      {
        layer: junk.digest,
        reason: 'the layer is neither gzip nor tar (media type application/octet-stream), so it was not read',
      },
    ]);
    assert.ok(inventory.packages.length > 50, `${inventory.packages.length} packages`);
  });

  it('reports text declared as tar or gzip', async () => {
    const text = Buffer.from('just some text\n'.repeat(100));
    const inventory = await inventoryOf([
      layerSource(text, layerMediaTypes.tar),
      layerSource(text, layerMediaTypes.tarGzip),
      goodLayer,
    ]);

    assert.equal(inventory.warnings.length, 2);
    assert.match(
      inventory.warnings[0].reason,
      /^reading the layer failed after 0 of its entries \(Invalid tar header/,
    );
    assert.match(
      inventory.warnings[1].reason,
      /^reading the layer failed after 0 of its entries \(incorrect header check\)/,
    );
    assert.equal(inventory.os?.id, 'debian');
  });

  it('keeps other layers after a truncated gzip', async () => {
    const gzip = await gzipOf(await packOf([statusEntry]));
    const truncated = layerSource(gzip.subarray(0, gzip.length / 2), layerMediaTypes.tarGzip);
    const osOnly = layerSource(await packOf([osReleaseEntry]), layerMediaTypes.tar);
    const inventory = await inventoryOf([truncated, osOnly]);

    assert.deepEqual(inventory.warnings, [
      {
        layer: truncated.digest,
        reason:
          'reading the layer failed after 0 of its entries (unexpected end of file), and what those entries held was kept',
      },
    ]);
    assert.equal(inventory.os?.versionId, '12');
  });

  it('keeps entries read before a truncated tar', async () => {
    const tar = await packOf([
      osReleaseEntry,
      statusEntry,
      { name: 'opt/filler', content: 'x'.repeat(100_000) },
    ]);
    const truncated = layerSource(tar.subarray(0, tar.length - 50_000), layerMediaTypes.tar);
    const inventory = await inventoryOf([truncated]);

    assert.deepEqual(reasons(inventory), [
      'reading the layer failed after 2 of its entries (Unexpected end of data), and what those entries held was kept',
    ]);
    assert.equal(inventory.os?.id, 'debian');
    assert.ok(inventory.packages.some((entry) => entry.name === 'dpkg'));
  });

  it('reports a stream that fails', async () => {
    const tar = await packOf([osReleaseEntry, statusEntry]);
    const failing = failingLayerSource(tar.subarray(0, 3000), layerMediaTypes.tar, 'blob read failed: EIO');
    const inventory = await inventoryOf([failing, goodLayer]);

    assert.equal(inventory.warnings.length, 1);
    assert.equal(inventory.warnings[0].layer, failing.digest);
    assert.match(
      inventory.warnings[0].reason,
      /^reading the layer failed after 1 of its entries \(blob read failed: EIO\)/,
    );
    assert.ok(inventory.packages.length > 50);
  });

  it('skips entries that leave the image root', async () => {
    const layer = layerSource(
      await packOf([
        { name: '../../etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
        { name: '/etc/shadow', content: 'root:*:19000::::::\n' },
        { name: 'etc/evil', type: 'symlink', linkname: '/../../x' },
        { name: 'etc/up', type: 'symlink', linkname: '../../../x' },
        { name: 'etc/hard', type: 'link', linkname: '../outside' },
        osReleaseEntry,
        statusEntry,
      ]),
      layerMediaTypes.tar,
    );
    const inventory = await inventoryOf([layer]);

    assert.deepEqual(inventory.warnings, [
      {
        layer: layer.digest,
        reason: 'tar entry "../../etc/passwd" climbs above the image root, so it was skipped',
      },
      { layer: layer.digest, reason: 'tar entry "/etc/shadow" is an absolute path, so it was skipped' },
      {
        layer: layer.digest,
        path: '/etc/evil',
        reason: 'symbolic link /etc/evil -> "/../../x" points outside the image root, so it was skipped',
      },
      {
        layer: layer.digest,
        path: '/etc/up',
        reason: 'symbolic link /etc/up -> "../../../x" points outside the image root, so it was skipped',
      },
      {
        layer: layer.digest,
        path: '/etc/hard',
        reason:
          'hard link /etc/hard -> "../outside": the target climbs above the image root, so it was skipped',
      },
    ]);
    assert.equal(inventory.os?.id, 'debian');
  });

  it('reports a binary status file', async () => {
    const binary = Buffer.concat([Buffer.from('Package: x\nVersion: 1\n'), Buffer.alloc(64), debianStatus]);
    const layer = layerSource(
      await packOf([{ name: 'var/lib/dpkg/status', content: binary }]),
      layerMediaTypes.tar,
    );
    const inventory = await inventoryOf([goodLayer, layer]);

    assert.deepEqual(inventory.packages, []);
    assert.deepEqual(inventory.warnings, [
      {
        layer: layer.digest,
        path: '/var/lib/dpkg/status',
        reason: '/var/lib/dpkg/status contains binary data and was not read',
      },
    ]);
  });

  it('skips a wanted file over the limit', async () => {
    const inventory = await inventoryOf([goodLayer], 1000);

    assert.deepEqual(inventory.packages, []);
    assert.deepEqual(inventory.warnings, [
      {
        layer: goodLayer.digest,
        path: '/var/lib/dpkg/status',
        reason: `/var/lib/dpkg/status: the file has ${debianStatus.length} bytes, more than the limit of 1000 bytes, and was not read`,
      },
    ]);
    assert.equal(inventory.os?.id, 'debian', 'os-release is read under its own limit');
  });

  it('skips zstd layers', async () => {
    const zstd = await zstdOf(await packOf([statusEntry]));
    const declared = layerSource(zstd, layerMediaTypes.tarZstd);
    const undeclared = layerSource(zstd, 'application/octet-stream');
    const inventory = await inventoryOf([declared, undeclared, goodLayer]);

    assert.deepEqual(inventory.warnings, [
      { layer: declared.digest, reason: 'zstd layers are not supported, so this layer was not read' },
      { layer: undeclared.digest, reason: 'zstd layers are not supported, so this layer was not read' },
    ]);
    assert.equal(declared.openCount, 0, 'a declared zstd layer is not even opened');
    assert.equal(undeclared.openCount, 1);
    assert.ok(inventory.packages.length > 50);
  });

  it('reports a symlink loop', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'wharf-walker-'));

    try {
      await writeTree(directory, {
        'etc/os-release': { symlink: 'os-release.d' },
        'etc/os-release.d': { symlink: 'os-release' },
      });

      const inventory = await inventoryOf([layerSource(await tarOf(directory), layerMediaTypes.tar)]);

      assert.equal(inventory.os, null);
      // The image has no OS packages, so the missing os-release is not reported on its own.
      assert.deepEqual(reasons(inventory), ['resolving /etc/os-release follows more than 40 links']);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe('layer walking of a large layer', () => {
  let peakGrowth = 0;

  after(() => {
    console.log(`peak RSS growth while reading 200 MiB: ${(peakGrowth / 1024 / 1024).toFixed(1)} MiB`);
  });

  it('streams 200 MiB with bounded memory', async () => {
    const bigSize = 200 * 1024 * 1024;
    const layer = generatedLayerSource([osReleaseEntry, statusEntry], 'opt/blob.bin', bigSize);
    const startRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakGrowth = Math.max(peakGrowth, process.memoryUsage().rss - startRss);
    }, 20);

    try {
      const inventory = await inventoryOf([layer]);

      assert.deepEqual(inventory.warnings, []);
      assert.equal(inventory.os?.id, 'debian');
      assert.ok(inventory.packages.length > 50);
    } finally {
      clearInterval(sampler);
    }

    assert.ok(peakGrowth < 100 * 1024 * 1024, `RSS grew by ${peakGrowth} bytes`);
  });
});
