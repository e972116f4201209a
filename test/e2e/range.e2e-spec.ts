/**
 * Blob `Range` requests (RFC 9110 single ranges) and the headers that GET and HEAD share.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { assertOciError, type Content, createBlob, OciClient } from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

const repository = 'range/blobs';

describe('blob range requests', () => {
  let server: WharfServer;
  let client: OciClient;
  let blob: Content;
  let blobPath: string;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
    blob = createBlob(Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251)));
    blobPath = `/v2/${repository}/blobs/${blob.digest}`;
    await client.pushBlob(repository, blob);
  });

  after(async () => {
    await server?.dispose();
  });

  async function getRange(range: string): Promise<{ response: Response; body: Buffer }> {
    const response = await client.fetch(blobPath, { headers: { range } });

    return { response, body: Buffer.from(await response.arrayBuffer()) };
  }

  describe('satisfiable range', () => {
    it('bytes=0-9 returns 206 with the first ten bytes', async () => {
      const { response, body } = await getRange('bytes=0-9');

      assert.equal(response.status, 206);
      assert.deepEqual(body, blob.bytes.subarray(0, 10));
    });

    it('sets Content-Range', async () => {
      const { response } = await getRange('bytes=0-9');

      assert.equal(response.headers.get('content-range'), `bytes 0-9/${blob.size}`);
    });

    it('sets Content-Length to the range length', async () => {
      const { response } = await getRange('bytes=100-199');

      assert.equal(response.headers.get('content-length'), '100');
    });

    it('middle range returns those bytes', async () => {
      const { response, body } = await getRange('bytes=500-749');

      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes 500-749/${blob.size}`);
      assert.deepEqual(body, blob.bytes.subarray(500, 750));
    });

    it('open end returns the rest', async () => {
      const { response, body } = await getRange('bytes=900-');

      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes 900-999/${blob.size}`);
      assert.deepEqual(body, blob.bytes.subarray(900));
    });

    it('suffix returns the last bytes', async () => {
      const { response, body } = await getRange('bytes=-50');

      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes 950-999/${blob.size}`);
      assert.deepEqual(body, blob.bytes.subarray(950));
    });

    it('end past the size is clipped', async () => {
      const { response, body } = await getRange('bytes=990-5000');

      assert.equal(response.status, 206);
      assert.equal(response.headers.get('content-range'), `bytes 990-999/${blob.size}`);
      assert.deepEqual(body, blob.bytes.subarray(990));
    });

    it('last byte only', async () => {
      const { response, body } = await getRange('bytes=999-999');

      assert.equal(response.status, 206);
      assert.deepEqual(body, blob.bytes.subarray(999));
    });
  });

  describe('unsatisfiable range', () => {
    for (const range of ['bytes=1000-', 'bytes=1000-1010', 'bytes=5000-6000']) {
      it(`${range} returns 416 with Content-Range bytes */size`, async () => {
        const response = await client.fetch(blobPath, { headers: { range } });

        assert.equal(response.headers.get('content-range'), `bytes */${blob.size}`);
        await assertOciError(response, 416, []);
      });
    }

    it('start after end returns 416 or the whole blob', async () => {
      const { response, body } = await getRange('bytes=50-10');

      assert.ok(response.status === 416 || response.status === 200, `status ${response.status}`);

      if (response.status === 200) {
        assert.deepEqual(body, blob.bytes);
      }
    });
  });

  describe('other Range headers', () => {
    it('malformed range returns the whole blob or 416', async () => {
      const { response, body } = await getRange('bytes=abc');

      assert.ok(response.status === 200 || response.status === 416, `status ${response.status}`);

      if (response.status === 200) {
        assert.deepEqual(body, blob.bytes);
      }
    });

    it('unknown unit returns the whole blob', async () => {
      const { response, body } = await getRange('items=0-9');

      assert.equal(response.status, 200);
      assert.deepEqual(body, blob.bytes);
    });

    it('range on an unknown blob returns 404', async () => {
      const digest = createBlob('never pushed for range').digest;
      const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, {
        headers: { range: 'bytes=0-1' },
      });

      await assertOciError(response, 404, 'BLOB_UNKNOWN');
    });
  });

  describe('GET and HEAD headers', () => {
    it('GET sets Accept-Ranges: bytes', async () => {
      const response = await client.fetch(blobPath);

      await response.arrayBuffer();
      assert.equal(response.headers.get('accept-ranges'), 'bytes');
    });

    it('HEAD sets Accept-Ranges: bytes', async () => {
      const response = await client.fetch(blobPath, { method: 'HEAD' });

      await response.arrayBuffer();
      assert.equal(response.headers.get('accept-ranges'), 'bytes');
    });

    it('GET without Range returns 200 and the whole blob', async () => {
      const response = await client.fetch(blobPath);
      const body = Buffer.from(await response.arrayBuffer());

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-length'), String(blob.size));
      assert.deepEqual(body, blob.bytes);
    });

    it('HEAD headers match GET', async () => {
      const head = await client.fetch(blobPath, { method: 'HEAD' });
      const get = await client.fetch(blobPath);

      await head.arrayBuffer();
      await get.arrayBuffer();
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'));
      assert.equal(head.headers.get('content-length'), get.headers.get('content-length'));
      assert.equal(head.headers.get('docker-content-digest'), get.headers.get('docker-content-digest'));
    });

    it('HEAD with Range returns 200 or 206', async () => {
      const response = await client.fetch(blobPath, { method: 'HEAD', headers: { range: 'bytes=0-9' } });

      await response.arrayBuffer();
      assert.ok(response.status === 206 || response.status === 200, `status ${response.status}`);

      if (response.status === 206) {
        assert.equal(response.headers.get('content-range'), `bytes 0-9/${blob.size}`);
      }
    });
  });
});
