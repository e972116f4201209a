import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { AuditLog } from '../../auth/audit-log.js';
import { parseRangeHeader } from '../byte-range.js';
import type { OciRoute } from '../oci-path.js';
import { BlobService } from '../services/blob.service.js';
import { RegistryReader } from '../services/registry-reader.js';
import { auditCaller, dispatch } from './handler-table.js';

type BlobRoute = Extract<OciRoute, { kind: 'blob' }>;

/** `/v2/<name>/blobs/<digest>`: GET and HEAD (with `Range`), and DELETE. */
@Injectable()
export class BlobsHandler {
  constructor(
    @Inject(RegistryReader) private readonly reader: RegistryReader,
    @Inject(BlobService) private readonly blobs: BlobService,
    @Inject(AuditLog) private readonly audit: AuditLog,
  ) {}

  handle(route: BlobRoute, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    return dispatch(
      {
        GET: (r, req, res) => this.get(r, req, res, true),
        HEAD: (r, req, res) => this.get(r, req, res, false),
        DELETE: (r, req, res) => this.delete(r, req, res),
      },
      route,
      request,
      reply,
    );
  }

  private async get(route: BlobRoute, request: FastifyRequest, reply: FastifyReply, withBody: boolean) {
    const digest = route.digest.toString();
    const blob = withBody
      ? await this.reader.fetchBlob(route.name, route.digest)
      : { size: await this.reader.statBlob(route.name, route.digest), open: undefined };

    reply
      .header('Content-Type', 'application/octet-stream')
      .header('Docker-Content-Digest', digest)
      .header('ETag', `"${digest}"`);

    if (blob.size === undefined) {
      // An upstream is still sending a blob of unannounced length: no ranges, and a chunked body.
      await reply.status(200).send(await blob.open?.());

      return;
    }

    const range = parseRangeHeader(request.headers.range, blob.size);

    reply.header('Accept-Ranges', 'bytes');

    if (range) {
      reply
        .status(206)
        .header('Content-Range', `bytes ${range.start}-${range.end}/${blob.size}`)
        .header('Content-Length', range.end - range.start + 1);
    } else {
      reply.status(200).header('Content-Length', blob.size);
    }

    await reply.send(await blob.open?.(range));
  }

  private async delete(route: BlobRoute, request: FastifyRequest, reply: FastifyReply) {
    await this.blobs.delete(route.name, route.digest);
    this.audit.record('delete', {
      ...auditCaller(request),
      repository: route.name,
      digest: route.digest.toString(),
    });
    await reply.status(202).header('Content-Length', 0).send();
  }
}
