import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { Digest } from '../../common/digest.js';
import { InvalidDigestError, ShuttingDownError, SizeMismatchError } from '../../common/domain-errors.js';
import { ShutdownState } from '../../common/shutdown-state.js';
import type { ChunkExpectation } from '../../storage/upload-storage.service.js';
import { parseContentRange } from '../byte-range.js';
import { contentLengthOf, hasBody, queryOf } from '../http-request.js';
import { uploadRange } from '../oci-error.mapper.js';
import { parseName, type OciRoute } from '../oci-path.js';
import { OciUrls } from '../oci-urls.js';
import { BlobService } from '../services/blob.service.js';
import { UploadService } from '../services/upload.service.js';
import { dispatch } from './handler-table.js';

type UploadsRoute = Extract<OciRoute, { kind: 'uploads' }>;
type UploadRoute = Extract<OciRoute, { kind: 'upload' }>;

/**
 * `/v2/<name>/blobs/uploads/` (POST: start, single-request upload, or mount) and
 * `/v2/<name>/blobs/uploads/<id>` (GET status, PATCH chunk, PUT finish, DELETE cancel).
 */
@Injectable()
export class UploadsHandler {
  constructor(
    @Inject(UploadService) private readonly uploads: UploadService,
    @Inject(BlobService) private readonly blobs: BlobService,
    @Inject(OciUrls) private readonly urls: OciUrls,
    @Inject(ShutdownState) private readonly shutdown: ShutdownState,
  ) {}

  handleStart(route: UploadsRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch({ POST: (r, req, res) => this.start(r, req, res) }, route, request, reply);
  }

  handleSession(route: UploadRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch(
      {
        GET: (r, req, res) => this.status(r, req, res),
        PATCH: (r, req, res) => this.patch(r, req, res),
        PUT: (r, req, res) => this.finish(r, req, res),
        DELETE: (r, req, res) => this.cancel(r, req, res),
      },
      route,
      request,
      reply,
    );
  }

  private async start(route: UploadsRoute, request: FastifyRequest, reply: FastifyReply) {
    // Sessions already open may still send their chunks; a new one could outlast the grace period.
    if (this.shutdown.inProgress) {
      throw new ShuttingDownError();
    }

    const query = queryOf(request);
    const mount = query.get('mount');
    const digestText = query.get('digest');

    if (mount !== null) {
      const digest = parseDigestParameter(mount);
      const from = query.get('from');

      // A mount needs read access to its source; without it the client gets an ordinary upload, as when
      // the blob is not there, so the response does not reveal whether the blob exists.
      if (
        from !== null &&
        mayRead(request, parseName(from)) &&
        (await this.blobs.mount(route.name, digest, from))
      ) {
        return this.sendCreated(reply, route.name, digest);
      }
    } else if (digestText !== null) {
      const digest = parseDigestParameter(digestText);

      await this.uploads.uploadWhole(route.name, digest, request.raw, contentLengthOf(request));

      return this.sendCreated(reply, route.name, digest);
    }

    const uploadId = await this.uploads.start(route.name);

    await this.sendProgress(reply.status(202), route.name, uploadId, 0);
  }

  private async status(route: UploadRoute, _request: FastifyRequest, reply: FastifyReply) {
    const size = await this.uploads.status(route.name, route.uploadId);

    await this.sendProgress(reply.status(204), route.name, route.uploadId, size);
  }

  private async patch(route: UploadRoute, request: FastifyRequest, reply: FastifyReply) {
    const size = await this.uploads.append(
      route.name,
      route.uploadId,
      request.raw,
      chunkExpectation(request),
    );

    await this.sendProgress(reply.status(202), route.name, route.uploadId, size);
  }

  private async finish(route: UploadRoute, request: FastifyRequest, reply: FastifyReply) {
    const digest = parseDigestParameter(queryOf(request).get('digest'));
    const lastChunk = hasBody(request)
      ? { body: request.raw, expected: chunkExpectation(request) }
      : undefined;

    await this.uploads.complete(route.name, route.uploadId, digest, lastChunk);
    await this.sendCreated(reply, route.name, digest);
  }

  private async cancel(route: UploadRoute, _request: FastifyRequest, reply: FastifyReply) {
    await this.uploads.cancel(route.name, route.uploadId);
    await reply.status(204).send();
  }

  private async sendCreated(reply: FastifyReply, name: string, digest: Digest) {
    await reply
      .status(201)
      .header('Location', this.urls.blob(name, digest.toString()))
      .header('Docker-Content-Digest', digest.toString())
      .header('Content-Length', 0)
      .send();
  }

  private async sendProgress(reply: FastifyReply, name: string, uploadId: string, size: number) {
    await reply
      .header('Location', this.urls.upload(name, uploadId))
      .header('Range', uploadRange(size))
      .header('Docker-Upload-UUID', uploadId)
      .header('Content-Length', 0)
      .send();
  }
}

function parseDigestParameter(value: string | null): Digest {
  if (value === null) {
    throw new InvalidDigestError('', 'the digest query parameter is required');
  }

  return Digest.parse(value);
}

function mayRead(request: FastifyRequest, repository: string): boolean {
  return request.registryGrant?.permits(repository, 'read') ?? true;
}

/** Reads where a chunk must start and how long it is from `Content-Range` and `Content-Length`. */
function chunkExpectation(request: FastifyRequest): ChunkExpectation {
  const length = contentLengthOf(request);
  const header = request.headers['content-range'];

  if (header === undefined) {
    return { length };
  }

  const range = parseContentRange(header);
  const rangeLength = range.end - range.start + 1;

  if (length !== undefined && length !== rangeLength) {
    throw new SizeMismatchError(rangeLength, length);
  }

  return { offset: range.start, length: rangeLength };
}
