import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { languageCollectors } from './language-collectors.js';

const megabyte = 1024 * 1024;

describe('languageCollectors', () => {
  const collectors = languageCollectors();

  it('lists one collector per ecosystem', () => {
    assert.deepEqual(
      collectors.map((collector) => collector.name),
      ['npm', 'python', 'go', 'java', 'rust'],
    );
  });

  const cases: [string, number, string | undefined][] = [
    ['/app/package-lock.json', 0o644, 'npm'],
    ['/app/node_modules/@nestjs/core/package.json', 0o644, 'npm'],
    ['/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA', 0o644, 'python'],
    ['/usr/bin/skopeo', 0o755, 'go'],
    ['/app/app.jar', 0o755, 'java'],
    ['/src/Cargo.lock', 0o644, 'rust'],
    ['/app/package.json', 0o644, undefined],
    ['/etc/os-release', 0o644, undefined],
  ];

  for (const [path, mode, expected] of cases) {
    it(`routes ${path} to ${expected ?? 'no collector'}`, () => {
      const wanting = collectors.filter((collector) => collector.wants(path, 16 * megabyte, mode));

      assert.deepEqual(
        wanting.map((collector) => collector.name),
        expected === undefined ? [] : [expected],
      );
    });
  }

  it('turns a failing stream into a warning in every collector', async () => {
    for (const collector of collectors) {
      const content = new Readable({
        read() {
          this.destroy(new Error('invalid tar header'));
        },
      });
      const findings = await collector.collect(
        { path: '/x/file', size: 100, mode: 0o755, content },
        megabyte,
      );

      assert.deepEqual(findings, {
        packages: [],
        warnings: ['/x/file: failed to read the file: invalid tar header'],
      });
    }
  });
});
