/**
 * Blob uploads over HTTP: every upload mode, status and cancel, cross-repository mounts, sha512 digests,
 * digest and size mismatches, and a client that disconnects mid-upload.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import {
  assertOciError,
  type Content,
  createBlob,
  createImage,
  createRandomBlob,
  digestMatches,
  mediaTypes,
  OciClient,
  parseUploadRangeEnd,
  sendRawRequest,
  withQuery,
} from '../support/oci-client.js';
import { startWharf, type WharfServer } from '../support/wharf-server.js';

describe('blob uploads', () => {
  let server: WharfServer;
  let client: OciClient;

  before(async () => {
    server = await startWharf();
    client = new OciClient(server.baseUrl);
  });

  after(async () => {
    await server?.dispose();
  });

  function patchChunk(location: string, blob: Content, start: number, end: number): Promise<Response> {
    return client.fetch(location, {
      method: 'PATCH',
      headers: { 'content-type': mediaTypes.octetStream, 'content-range': `${start}-${end}` },
      body: blob.bytes.subarray(start, end + 1),
    });
  }

  function closeUpload(
    location: string,
    digest: string,
    body?: Buffer,
    contentRange?: string,
  ): Promise<Response> {
    const headers: Record<string, string> = {};

    if (body !== undefined) {
      headers['content-type'] = mediaTypes.octetStream;
    }

    if (contentRange !== undefined) {
      headers['content-range'] = contentRange;
    }

    return client.fetch(withQuery(location, [['digest', digest]]), { method: 'PUT', headers, body });
  }

  async function readBlob(repository: string, digest: string): Promise<{ status: number; body: Buffer }> {
    const response = await client.fetch(`/v2/${repository}/blobs/${digest}`);

    return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
  }

  async function blobStatus(repository: string, digest: string): Promise<number> {
    const response = await client.fetch(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });

    await response.arrayBuffer();

    return response.status;
  }

  describe('single POST', () => {
    const repository = 'uploads/single-post';

    it('returns 201 and stores the blob', async () => {
      const blob = createRandomBlob(4096);
      const response = await client.postBlob(repository, blob);

      await response.arrayBuffer();
      assert.equal(response.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, blob.bytes);
    });

    it('sets Location and Docker-Content-Digest', async () => {
      const blob = createRandomBlob(100);
      const response = await client.postBlob(repository, blob);

      await response.arrayBuffer();
      assert.equal(new URL(client.locationOf(response)).pathname, `/v2/${repository}/blobs/${blob.digest}`);
      assert.equal(response.headers.get('docker-content-digest'), blob.digest);
    });

    it('empty blob returns 201', async () => {
      const blob = createBlob('');
      const response = await client.postBlob(repository, blob);

      await response.arrayBuffer();
      assert.equal(response.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.equal(stored.status, 200);
      assert.equal(stored.body.length, 0);
    });

    it('digest mismatch returns 400 and stores nothing', async () => {
      const blob = createRandomBlob(100);
      const claimed = createRandomBlob(100);
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/?digest=${claimed.digest}`, {
        method: 'POST',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await assertOciError(response, 400, 'DIGEST_INVALID');
      assert.equal(await blobStatus(repository, claimed.digest), 404);
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('same blob twice returns 201 both times', async () => {
      const blob = createRandomBlob(64);

      for (const attempt of [1, 2]) {
        const response = await client.postBlob(repository, blob);

        await response.arrayBuffer();
        assert.equal(response.status, 201, `attempt ${attempt}`);
      }
    });
  });

  describe('POST then PUT', () => {
    const repository = 'uploads/post-put';

    it('stores the blob', async () => {
      const blob = createRandomBlob(10_000);
      const location = await client.startUpload(repository);
      const put = await closeUpload(location, blob.digest, blob.bytes);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(put.headers.get('docker-content-digest'), blob.digest);

      const stored = await readBlob(repository, blob.digest);

      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, blob.bytes);
    });

    it('digest mismatch returns 400 and stores nothing', async () => {
      const blob = createRandomBlob(100);
      const claimed = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const put = await closeUpload(location, claimed.digest, blob.bytes);

      await assertOciError(put, 400, 'DIGEST_INVALID');
      assert.equal(await blobStatus(repository, claimed.digest), 404);
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('PUT without digest returns 400', async () => {
      const location = await client.startUpload(repository);
      const put = await client.fetch(location, {
        method: 'PUT',
        headers: { 'content-type': mediaTypes.octetStream },
        body: Buffer.from('no digest given'),
      });

      await assertOciError(put, 400, ['DIGEST_INVALID', 'BLOB_UPLOAD_INVALID']);
    });

    it('closed session returns 404', async () => {
      const blob = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const put = await closeUpload(location, blob.digest, blob.bytes);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const status = await client.fetch(location);

      await assertOciError(status, 404, 'BLOB_UPLOAD_UNKNOWN');

      const patch = await patchChunk(location, blob, 0, 9);

      await assertOciError(patch, 404, 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('chunked PATCH', () => {
    const repository = 'uploads/chunked';

    it('three chunks then an empty PUT', async () => {
      const blob = createRandomBlob(3000);
      let location = await client.startUpload(repository);

      for (const [start, end] of [
        [0, 999],
        [1000, 1999],
        [2000, 2999],
      ] as const) {
        const patch = await patchChunk(location, blob, start, end);

        await patch.arrayBuffer();
        assert.equal(patch.status, 202, `PATCH ${start}-${end}`);
        assert.equal(patch.headers.get('range'), `0-${end}`, `Range after ${start}-${end}`);
        location = client.locationOf(patch);
      }

      const put = await closeUpload(location, blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });

    it('last chunk in the PUT', async () => {
      const blob = createRandomBlob(2000);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 1199);

      await patch.arrayBuffer();
      assert.equal(patch.status, 202);

      const put = await closeUpload(
        client.locationOf(patch),
        blob.digest,
        blob.bytes.subarray(1200),
        '1200-1999',
      );

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });

    it('single-byte chunks', async () => {
      const blob = createRandomBlob(5);
      let location = await client.startUpload(repository);

      for (let offset = 0; offset < blob.size; offset += 1) {
        const patch = await patchChunk(location, blob, offset, offset);

        await patch.arrayBuffer();
        assert.equal(patch.status, 202, `PATCH ${offset}-${offset}`);
        assert.equal(patch.headers.get('range'), `0-${offset}`);
        location = client.locationOf(patch);
      }

      const put = await closeUpload(location, blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
    });

    it('gap returns 416 with Range and BLOB_UPLOAD_INVALID', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const first = await patchChunk(location, blob, 0, 99);

      await first.arrayBuffer();

      const gap = await patchChunk(client.locationOf(first), blob, 150, 299);

      assert.equal(gap.headers.get('range'), '0-99');
      await assertOciError(gap, 416, 'BLOB_UPLOAD_INVALID');
    });

    it('overlap returns 416', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const first = await patchChunk(location, blob, 0, 99);

      await first.arrayBuffer();

      const overlap = await patchChunk(client.locationOf(first), blob, 50, 149);

      await assertOciError(overlap, 416, 'BLOB_UPLOAD_INVALID');
    });

    it('first chunk not at 0 returns 416', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const response = await patchChunk(location, blob, 10, 99);

      await assertOciError(response, 416, 'BLOB_UPLOAD_INVALID');
    });

    it('session stays usable after 416', async () => {
      const blob = createRandomBlob(300);
      const location = await client.startUpload(repository);
      const first = await patchChunk(location, blob, 0, 99);

      await first.arrayBuffer();

      const gap = await patchChunk(client.locationOf(first), blob, 200, 299);

      await gap.arrayBuffer();
      assert.equal(gap.status, 416);

      const overlap = await patchChunk(client.locationOf(first), blob, 0, 199);

      await overlap.arrayBuffer();
      assert.equal(overlap.status, 416);

      const second = await patchChunk(client.locationOf(first), blob, 100, 299);

      await second.arrayBuffer();
      assert.equal(second.status, 202);
      assert.equal(second.headers.get('range'), '0-299');

      const put = await closeUpload(client.locationOf(second), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });

    it('Content-Range longer than the body returns 400 SIZE_INVALID', async () => {
      const blob = createRandomBlob(200);
      const location = await client.startUpload(repository);
      const first = await patchChunk(location, blob, 0, 99);

      await first.arrayBuffer();

      const short = await client.fetch(client.locationOf(first), {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream, 'content-range': '100-199' },
        body: blob.bytes.subarray(100, 150),
      });

      await assertOciError(short, 400, 'SIZE_INVALID');

      const status = await client.fetch(client.locationOf(first));

      await status.arrayBuffer();
      assert.equal(parseUploadRangeEnd(status), 99);
    });

    it('digest mismatch on close returns 400 and stores nothing', async () => {
      const blob = createRandomBlob(200);
      const claimed = createRandomBlob(200);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 199);

      await patch.arrayBuffer();

      const put = await closeUpload(client.locationOf(patch), claimed.digest);

      await assertOciError(put, 400, 'DIGEST_INVALID');
      assert.equal(await blobStatus(repository, claimed.digest), 404);
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });
  });

  describe('streamed PATCH', () => {
    const repository = 'uploads/streamed';

    it('PATCH without Content-Range then PUT', async () => {
      const blob = createRandomBlob(5000);
      const location = await client.startUpload(repository);
      const patch = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes,
      });

      await patch.arrayBuffer();
      assert.equal(patch.status, 202);
      assert.equal(patch.headers.get('range'), `0-${blob.size - 1}`);

      const put = await closeUpload(client.locationOf(patch), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });

    it('two PATCHes without Content-Range append', async () => {
      const blob = createRandomBlob(3000);
      const location = await client.startUpload(repository);
      const first = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes.subarray(0, 1000),
      });

      await first.arrayBuffer();
      assert.equal(first.status, 202);

      const second = await client.fetch(client.locationOf(first), {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: blob.bytes.subarray(1000),
      });

      await second.arrayBuffer();
      assert.equal(second.status, 202);
      assert.equal(second.headers.get('range'), `0-${blob.size - 1}`);

      const put = await closeUpload(client.locationOf(second), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
    });

    it('chunked transfer encoding body', async () => {
      const blob = createRandomBlob(64 * 1024);
      const location = await client.startUpload(repository);
      const pieces = [
        blob.bytes.subarray(0, 20_000),
        blob.bytes.subarray(20_000, 50_000),
        blob.bytes.subarray(50_000),
      ];
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of pieces) {
            controller.enqueue(piece);
          }

          controller.close();
        },
      });
      const patch = await client.fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': mediaTypes.octetStream },
        body: stream,
        duplex: 'half',
      });

      await patch.arrayBuffer();
      assert.equal(patch.status, 202);
      assert.equal(patch.headers.get('range'), `0-${blob.size - 1}`);

      const put = await closeUpload(client.locationOf(patch), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });
  });

  describe('status GET', () => {
    const repository = 'uploads/status';

    it('returns 204 with Location and Range', async () => {
      const blob = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 49);

      await patch.arrayBuffer();

      const status = await client.fetch(client.locationOf(patch));
      const body = await status.arrayBuffer();

      assert.equal(status.status, 204);
      assert.equal(body.byteLength, 0);
      assert.ok(status.headers.get('location'), 'Location is missing');
      assert.equal(status.headers.get('range'), '0-49');
    });

    it('new session has a Range header', async () => {
      const location = await client.startUpload(repository);
      const status = await client.fetch(location);

      await status.arrayBuffer();
      assert.equal(status.status, 204);
      assert.match(status.headers.get('range') ?? '', /^0-\d+$/);
    });

    it('leaves the session untouched', async () => {
      const blob = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 49);

      await patch.arrayBuffer();

      for (const attempt of [1, 2]) {
        const status = await client.fetch(client.locationOf(patch));

        await status.arrayBuffer();
        assert.equal(status.headers.get('range'), '0-49', `status GET ${attempt}`);
      }

      const status = await client.fetch(client.locationOf(patch));

      await status.arrayBuffer();

      const rest = await patchChunk(client.locationOf(status), blob, 50, 99);

      await rest.arrayBuffer();
      assert.equal(rest.status, 202);

      const put = await closeUpload(client.locationOf(rest), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
    });

    it('unknown session returns 404', async () => {
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/${randomUUID()}`);

      await assertOciError(response, 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    it('session of another repository returns 404', async () => {
      const location = await client.startUpload(repository);
      const foreign = location.replace(`/v2/${repository}/`, '/v2/uploads/elsewhere/');

      assert.notEqual(foreign, location, `upload location ${location} does not contain the repository path`);

      const response = await client.fetch(foreign);

      await assertOciError(response, 404, 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('cancel DELETE', () => {
    const repository = 'uploads/cancel';

    it('returns 204', async () => {
      const location = await client.startUpload(repository);
      const response = await client.fetch(location, { method: 'DELETE' });

      await response.arrayBuffer();
      assert.equal(response.status, 204);
    });

    it('cancelled session returns 404 for GET, PATCH and PUT', async () => {
      const blob = createRandomBlob(100);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 49);

      await patch.arrayBuffer();

      const cancel = await client.fetch(client.locationOf(patch), { method: 'DELETE' });

      await cancel.arrayBuffer();
      assert.equal(cancel.status, 204);
      await assertOciError(await client.fetch(client.locationOf(patch)), 404, 'BLOB_UPLOAD_UNKNOWN');
      await assertOciError(
        await patchChunk(client.locationOf(patch), blob, 50, 99),
        404,
        'BLOB_UPLOAD_UNKNOWN',
      );
      await assertOciError(
        await closeUpload(client.locationOf(patch), blob.digest),
        404,
        'BLOB_UPLOAD_UNKNOWN',
      );
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('unknown session returns 404', async () => {
      const response = await client.fetch(`/v2/${repository}/blobs/uploads/${randomUUID()}`, {
        method: 'DELETE',
      });

      await assertOciError(response, 404, 'BLOB_UPLOAD_UNKNOWN');
    });
  });

  describe('mount', () => {
    it('returns 201 when the source has the blob', async () => {
      const blob = createRandomBlob(700);

      await client.pushBlob('uploads/mount-source', blob);

      const response = await client.fetch(
        `/v2/uploads/mount-target/blobs/uploads/?mount=${blob.digest}&from=uploads/mount-source`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.equal(
        new URL(client.locationOf(response)).pathname,
        `/v2/uploads/mount-target/blobs/${blob.digest}`,
      );
      assert.equal(response.headers.get('docker-content-digest'), blob.digest);

      const stored = await readBlob('uploads/mount-target', blob.digest);

      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, blob.bytes);
    });

    it('returns 202 with a working session when the source lacks the blob', async () => {
      const blob = createRandomBlob(700);
      const response = await client.fetch(
        `/v2/uploads/mount-target/blobs/uploads/?mount=${blob.digest}&from=uploads/mount-source`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.equal(response.status, 202);

      const put = await closeUpload(client.locationOf(response), blob.digest, blob.bytes);

      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.equal(await blobStatus('uploads/mount-target', blob.digest), 200);
    });

    it('unknown source repository returns 201 or 202', async () => {
      const blob = createRandomBlob(70);

      await client.pushBlob('uploads/mount-elsewhere', blob);

      const response = await client.fetch(
        `/v2/uploads/mount-target/blobs/uploads/?mount=${blob.digest}&from=uploads/no-such-source`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.ok(response.status === 202 || response.status === 201, `status ${response.status}`);

      if (response.status === 202) {
        const status = await client.fetch(client.locationOf(response));

        await status.arrayBuffer();
        assert.equal(status.status, 204);
      }
    });

    it('links the blob to the target only', async () => {
      const blob = createRandomBlob(70);

      await client.pushBlob('uploads/mount-a', blob);

      const response = await client.fetch(
        `/v2/uploads/mount-b/blobs/uploads/?mount=${blob.digest}&from=uploads/mount-a`,
        { method: 'POST' },
      );

      await response.arrayBuffer();
      assert.equal(response.status, 201);
      assert.equal(await blobStatus('uploads/mount-a', blob.digest), 200);
      assert.equal(await blobStatus('uploads/mount-b', blob.digest), 200);
      assert.equal(await blobStatus('uploads/mount-c', blob.digest), 404);
    });
  });

  describe('sha512', () => {
    const repository = 'uploads/sha512';

    function createSha512Blob(size: number): Content {
      return createBlob(createRandomBlob(size).bytes, mediaTypes.imageLayer, 'sha512');
    }

    it('single POST stores the blob', async () => {
      const blob = createSha512Blob(1000);
      const response = await client.postBlob(repository, blob);

      await response.arrayBuffer();
      assert.equal(response.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, blob.bytes);
    });

    it('GET sets a Docker-Content-Digest that matches the body', async () => {
      const blob = createSha512Blob(500);

      await client.pushBlob(repository, blob);

      const response = await client.fetch(`/v2/${repository}/blobs/${blob.digest}`);
      const body = Buffer.from(await response.arrayBuffer());
      const digest = response.headers.get('docker-content-digest') ?? '';

      assert.ok(digestMatches(digest, body), `Docker-Content-Digest "${digest}" does not match the body`);
    });

    it('chunked upload stores the blob', async () => {
      const blob = createSha512Blob(2000);
      const location = await client.startUpload(repository);
      const patch = await patchChunk(location, blob, 0, 999);

      await patch.arrayBuffer();

      const put = await closeUpload(
        client.locationOf(patch),
        blob.digest,
        blob.bytes.subarray(1000),
        '1000-1999',
      );

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    });

    it('digest mismatch returns 400 and stores nothing', async () => {
      const blob = createSha512Blob(300);
      const claimed = createSha512Blob(300);
      const location = await client.startUpload(repository);
      const put = await closeUpload(location, claimed.digest, blob.bytes);

      await assertOciError(put, 400, 'DIGEST_INVALID');
      assert.equal(await blobStatus(repository, claimed.digest), 404);
      assert.equal(await blobStatus(repository, blob.digest), 404);
    });

    it('manifest may reference a sha512 layer', async () => {
      const layer = createSha512Blob(256);
      const image = createImage({ layers: [layer] });

      await client.pushImage(repository, 'sha512-layer', image);

      const response = await client.fetch(`/v2/${repository}/manifests/sha512-layer`);

      await response.arrayBuffer();
      assert.equal(response.status, 200);
    });
  });

  describe('client disconnect', () => {
    const repository = 'uploads/disconnect';

    /**
     * Uploads the first 1000 bytes, starts a PATCH that declares the other 3000 but sends only 1500, and
     * returns the blob and the location to resume at.
     */
    async function interruptUpload(halfClose: boolean): Promise<{ blob: Content; location: string }> {
      const blob = createRandomBlob(4000);
      const location = await client.startUpload(repository);
      const first = await patchChunk(location, blob, 0, 999);

      await first.arrayBuffer();
      assert.equal(first.status, 202);

      const resumeLocation = client.locationOf(first);
      const url = new URL(resumeLocation);
      const head = [
        `PATCH ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${server.hostPort}`,
        'Content-Type: application/octet-stream',
        `Content-Length: ${blob.size - 1000}`,
        '',
        '',
      ].join('\r\n');
      const partial = await sendRawRequest(server.baseUrl, head, blob.bytes.subarray(1000, 2500), {
        halfClose,
        timeoutMs: 1_000,
      });

      assert.ok(partial === undefined || partial.status < 500, `interrupted PATCH got ${partial?.status}`);

      return { blob, location: resumeLocation };
    }

    /**
     * Resumes at the offset that the status GET reports and closes the upload. A 416 response starts over
     * with a new status GET, as the spec directs clients to, at most three times.
     */
    async function resumeAndClose(blob: Content, location: string): Promise<void> {
      assert.equal(await blobStatus(repository, blob.digest), 404);

      let rest: Response | undefined;

      for (let attempt = 1; attempt <= 3 && rest?.status !== 202; attempt += 1) {
        const status = await client.fetch(location);

        await status.arrayBuffer();
        assert.equal(status.status, 204, `status GET ${attempt}`);

        const end = parseUploadRangeEnd(status);

        assert.ok(end >= 999, `Range end ${end} is before the first chunk's end`);
        assert.ok(end < 2500, `Range end ${end} is past the bytes sent`);
        rest = await patchChunk(client.locationOf(status), blob, end + 1, blob.size - 1);
        await rest.arrayBuffer();
      }

      assert.ok(rest, 'no PATCH was sent');
      assert.equal(rest.status, 202);

      const put = await closeUpload(client.locationOf(rest), blob.digest);

      await put.arrayBuffer();
      assert.equal(put.status, 201);

      const stored = await readBlob(repository, blob.digest);

      assert.deepEqual(stored.body, blob.bytes);
    }

    it('half-closed PATCH leaves a resumable session', async () => {
      const { blob, location } = await interruptUpload(true);

      await resumeAndClose(blob, location);
    });

    it('dropped PATCH leaves a resumable session', async () => {
      const { blob, location } = await interruptUpload(false);

      await resumeAndClose(blob, location);
    });
  });
});
