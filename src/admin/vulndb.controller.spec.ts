import 'reflect-metadata';

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { PayloadTooLargeException } from '@nestjs/common';

import type { OsvSourceItem } from '../scanning/osv/osv-source.js';
import { ndjsonRecords } from './vulndb.controller.js';

/** Splits `chunks`, as a request body would arrive, into records. */
async function split(chunks: (string | Buffer)[], maxLineBytes = 1024): Promise<OsvSourceItem[]> {
  const items: OsvSourceItem[] = [];

  for await (const item of ndjsonRecords(Readable.from(chunks) as AsyncIterable<Buffer>, maxLineBytes)) {
    items.push(item);
  }

  return items;
}

describe('ndjsonRecords', () => {
  it('yields one record per line', async () => {
    assert.deepEqual(await split(['{"id":"A"}\n{"id":"B"}\n']), [
      { name: 'line 1', text: '{"id":"A"}' },
      { name: 'line 2', text: '{"id":"B"}' },
    ]);
  });

  it('joins lines split across chunks', async () => {
    assert.deepEqual(await split(['{"id":', '"A"}\n{"i', 'd":"B"}']), [
      { name: 'line 1', text: '{"id":"A"}' },
      { name: 'line 2', text: '{"id":"B"}' },
    ]);
  });

  it('keeps multi-byte characters split across chunks', async () => {
    const line = Buffer.from('{"summary":"a → b"}\n');
    const at = line.indexOf(Buffer.from('→')) + 1;

    assert.deepEqual(await split([line.subarray(0, at), line.subarray(at)]), [
      { name: 'line 1', text: '{"summary":"a → b"}' },
    ]);
  });

  it('skips blank lines and keeps the numbering', async () => {
    assert.deepEqual(await split(['\n{"id":"A"}\r\n  \n{"id":"B"}\n\n']), [
      { name: 'line 2', text: '{"id":"A"}' },
      { name: 'line 4', text: '{"id":"B"}' },
    ]);
  });

  it('accepts a line of exactly the limit', async () => {
    const line = `{"id":"${'x'.repeat(10)}"}`;

    assert.deepEqual(await split([`${line}\n`], line.length), [{ name: 'line 1', text: line }]);
  });

  it('rejects a line over the limit with 413', async () => {
    const long = `{"id":"${'x'.repeat(100)}"}`;

    await assert.rejects(
      split(['{"id":"A"}\n', long.slice(0, 50), long.slice(50), '\n'], 64),
      (error: unknown) => {
        assert.ok(error instanceof PayloadTooLargeException);
        assert.equal(error.getStatus(), 413);
        assert.match(error.message, /^line 2 is longer than 64 bytes/);

        return true;
      },
    );
  });

  it('rejects a last line over the limit without a line break', async () => {
    await assert.rejects(split(['x'.repeat(65)], 64), /line 1 is longer than 64 bytes/);
  });
});
