import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  const valid: [text: string, milliseconds: number][] = [
    ['0s', 0],
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['168h', 604_800_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    [' 30s ', 30_000],
  ];

  for (const [text, milliseconds] of valid) {
    it(`${JSON.stringify(text)} is ${milliseconds} ms`, () => {
      assert.equal(parseDuration(text), milliseconds);
    });
  }

  const invalid = ['', '30', 's', '-1s', '1w', '1S', '1 h', '.5s', '1h30m', '1e3s', 'ten s'];

  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(parseDuration(text), undefined);
    });
  }
});

describe('parseSize', () => {
  const valid: [text: string, bytes: number][] = [
    ['0', 0],
    ['4096', 4096],
    ['10B', 10],
    ['1KiB', 1024],
    ['1.5KiB', 1536],
    ['512MiB', 512 * 1024 ** 2],
    ['1 GiB', 1024 ** 3],
    ['2TiB', 2 * 1024 ** 4],
    ['0.5B', 0],
    [' 8KiB ', 8192],
  ];

  for (const [text, bytes] of valid) {
    it(`${JSON.stringify(text)} is ${bytes} bytes`, () => {
      assert.equal(parseSize(text), bytes);
    });
  }

  const invalid = ['', 'KiB', '-1', '1KB', '1kib', '1MB', '1 PiB', '1e3', 'abc', '1.KiB'];

  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.equal(parseSize(text), undefined);
    });
  }
});
