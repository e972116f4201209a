import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { findPackage } from '../../../common/package-info.js';
import type { FileFindings, FoundPackage } from '../inventory.js';
import { readCargoLock, rustCollector } from './rust.js';

const fixtures = join(findPackage(import.meta.url).root, 'test/fixtures/lockfiles/rust');

function collect(path: string, data: Buffer, maxBytes = 1024 * 1024): Promise<FileFindings> {
  return rustCollector().collect(
    { path, size: data.length, mode: 0o644, content: Readable.from([data]) },
    maxBytes,
  );
}

function nameVersions(packages: FoundPackage[]): string[] {
  return packages.map((entry) => `${entry.name}@${entry.version}`);
}

/**
 * Lists the crates with a source as Python's TOML parser (tomllib, Python 3.11 and later) reads the
 * file, or returns undefined when no such Python is installed.
 */
function cratesByTomllib(path: string): string[] | undefined {
  const script = [
    'import sys, tomllib',
    'lock = tomllib.load(open(sys.argv[1], "rb"))',
    'for p in lock.get("package", []):',
    '    if "source" in p: print(p["name"] + "@" + p["version"])',
  ].join('\n');
  const result = spawnSync('python3', ['-c', script, path], { encoding: 'utf8', timeout: 30_000 });

  if (result.status !== 0) {
    return undefined;
  }

  return result.stdout.split('\n').filter((line) => line !== '');
}

describe('rust collector', () => {
  describe('wants', () => {
    const collector = rustCollector();

    it('wants Cargo.lock only', () => {
      assert.equal(collector.wants('/src/app/Cargo.lock', 100, 0o644), true);
      assert.equal(collector.wants('/src/app/Cargo.toml', 100, 0o644), false);
      assert.equal(collector.wants('/src/app/NotCargo.lock', 100, 0o644), false);
    });
  });

  it('reads a lockfile without a version line', async () => {
    const { packages, warnings } = await collect(
      '/src/Cargo.lock',
      readFileSync(join(fixtures, 'guessing-game.Cargo.lock')),
    );

    assert.deepEqual(warnings, []);
    assert.deepEqual(nameVersions(packages), [
      'cfg-if@1.0.0',
      'getrandom@0.2.2',
      'libc@0.2.86',
      'ppv-lite86@0.2.10',
      'rand@0.8.3',
      'rand_chacha@0.3.0',
      'rand_core@0.6.2',
      'rand_hc@0.3.0',
      'wasi@0.10.2+wasi-snapshot-preview1',
    ]);
    assert.equal(packages.at(-1)?.purl, 'pkg:cargo/wasi@0.10.2%2Bwasi-snapshot-preview1');
    assert.ok(packages.every((entry) => entry.type === 'cargo'));
  });

  it('keeps git crates and skips the workspace crate', async () => {
    const { packages, warnings } = await collect(
      '/src/Cargo.lock',
      readFileSync(join(fixtures, 'rustc-codegen-cranelift.Cargo.lock')),
    );
    const names = packages.map((entry) => entry.name);

    assert.deepEqual(warnings, []);
    assert.equal(packages.length, 34);
    assert.ok(names.includes('ar'));
    assert.ok(!names.includes('rustc_codegen_cranelift'));
  });

  for (const name of ['guessing-game.Cargo.lock', 'rustc-codegen-cranelift.Cargo.lock']) {
    it(`agrees with tomllib on ${name}`, async (context) => {
      const path = join(fixtures, name);
      const expected = cratesByTomllib(path);

      if (expected === undefined) {
        context.skip('python3 with tomllib is not installed');

        return;
      }

      const { packages } = await collect('/src/Cargo.lock', readFileSync(path));

      assert.deepEqual(nameVersions(packages), expected);
    });
  }

  it('reads the subset Cargo writes', () => {
    const text = [
      '# comment',
      'version = 4',
      '',
      '[[package]]',
      'name = "quoted\\"name"',
      "version = '1.0.0' # literal string",
      'source = "registry+https://github.com/rust-lang/crates.io-index"',
      'dependencies = [',
      ' "tricky ] bracket",',
      ' "other",',
      ']',
      '',
      '[[package]]',
      'name = "inline"',
      'version = "2.0.0\\u00e9"',
      'source = "sparse+https://index.crates.io/"',
      'dependencies = ["a", "b"]',
      '',
      '[metadata]',
      '"checksum libc 0.2.86 (registry+https://github.com/rust-lang/crates.io-index)" = "b728"',
    ].join('\n');

    assert.deepEqual(readCargoLock(text, 'Cargo.lock'), {
      packages: [
        { type: 'cargo', name: 'quoted"name', version: '1.0.0', purl: 'pkg:cargo/quoted%22name@1.0.0' },
        { type: 'cargo', name: 'inline', version: '2.0.0é', purl: 'pkg:cargo/inline@2.0.0%C3%A9' },
      ],
      warnings: [],
    });
  });

  describe('bad input', () => {
    it('reports a truncated lockfile and keeps the packages before the cut', async () => {
      const text = readFileSync(join(fixtures, 'guessing-game.Cargo.lock'), 'utf8');
      const cut = text.indexOf('"registry+', text.indexOf('name = "libc"'));
      const { packages, warnings } = await collect('/src/Cargo.lock', Buffer.from(text.slice(0, cut + 12)));

      assert.deepEqual(nameVersions(packages), ['cfg-if@1.0.0', 'getrandom@0.2.2']);
      assert.deepEqual(warnings, [
        '/src/Cargo.lock: line 30 has an unterminated or invalid string; the lines after it were not read',
      ]);
    });

    it('reports a line that is not TOML', async () => {
      const { warnings } = await collect('/src/Cargo.lock', Buffer.from('[[package]]\nname "x"\n'));

      assert.deepEqual(warnings, [
        '/src/Cargo.lock: line 2 is not a table header or a key = value pair; the lines after it were not read',
      ]);
    });

    it('reports a package without a version', async () => {
      const { warnings } = await collect(
        '/src/Cargo.lock',
        Buffer.from('[[package]]\nname = "x"\nsource = "git+x"\n'),
      );

      assert.deepEqual(warnings, ['/src/Cargo.lock: a [[package]] table has no name or no version']);
    });

    it('reports binary data', async () => {
      const { warnings } = await collect('/src/Cargo.lock', Buffer.from([0x5b, 0x00, 0x5d]));

      assert.deepEqual(warnings, ['/src/Cargo.lock: the file contains binary data and was not read']);
    });

    it('reports an oversized lockfile', async () => {
      const data = readFileSync(join(fixtures, 'rustc-codegen-cranelift.Cargo.lock'));
      const { warnings } = await collect('/src/Cargo.lock', data, 1000);

      assert.deepEqual(warnings, [
        `/src/Cargo.lock: the file has ${data.length} bytes, more than the limit of 1000 bytes, and was not read`,
      ]);
    });
  });
});
