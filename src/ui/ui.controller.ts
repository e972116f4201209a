import { Controller, Get, Inject, NotFoundException, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { Public } from '../auth/route-access.js';
import type { UiFile } from './ui-assets.js';
import { UiAssets } from './ui-assets.js';

/**
 * The policy for every UI response. Scripts, styles and fonts come only from Wharf itself, requests go
 * only to Wharf, and no other site may frame the UI. `img-src data:` is for the small images that
 * scripts draw, such as chart legends.
 */
export const uiContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = {
  'Content-Security-Policy': uiContentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** A year: hashed file names change with their content, so a cached copy is never stale. */
const immutableCaching = 'public, max-age=31536000, immutable';
/** The page and unhashed files are revalidated on every use, which costs a bodiless 304 while unchanged. */
const revalidatedCaching = 'no-cache';

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wharf</title></head>
<body><h1>The web UI is not built</h1>
<p>This Wharf was started without its web UI. Run <code>npm run build</code> in Wharf's directory and restart it.
The registry API under <code>/v2/</code> and the admin API under <code>/api/v1/</code> work without it.</p></body></html>
`;

/**
 * Serves the web UI under `/home`. Built files come from memory. Every other path under `/home` gets
 * the app's page, whose router shows the view for the path (a repository, an image, the dashboard).
 * The UI itself is public, because the app reads the caller from `/auth/session` and the API it calls
 * checks access on each request.
 */
@ApiExcludeController()
@Controller()
@Public()
export class UiController {
  constructor(@Inject(UiAssets) private readonly assets: UiAssets) {}

  /** People who open the registry's address in a browser land on the UI. */
  @Get()
  async root(@Res() reply: FastifyReply): Promise<void> {
    await reply.redirect('/home', 302);
  }

  @Get('home')
  home(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.page(request, reply);
  }

  @Get('home/*')
  async file(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const path = decodePath(request.url.split('?')[0].slice('/home/'.length));
    const file = path === undefined ? undefined : this.assets.file(path);

    if (file) {
      return send(request, reply, file, file.immutable ? immutableCaching : revalidatedCaching);
    }

    // A missing script or style must fail visibly, because sending the page instead would hide the cause.
    if (path === undefined || path.startsWith('assets/') || path === 'favicon.svg') {
      throw new NotFoundException(`no web UI file at ${request.url.split('?')[0]}`);
    }

    return this.page(request, reply);
  }

  private async page(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const index = this.assets.index;

    if (index === undefined) {
      await reply
        .status(503)
        .headers(securityHeaders)
        .header('Cache-Control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(notBuiltPage);

      return;
    }

    return send(request, reply, index, revalidatedCaching);
  }
}

function decodePath(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

async function send(
  request: FastifyRequest,
  reply: FastifyReply,
  file: UiFile,
  caching: string,
): Promise<void> {
  void reply
    .headers(securityHeaders)
    .header('Cache-Control', caching)
    .header('ETag', file.etag)
    .header('Vary', 'Accept-Encoding');

  if (request.headers['if-none-match'] === file.etag) {
    await reply.status(304).send();

    return;
  }

  const encoding = preferredEncoding(request.headers['accept-encoding'], file);
  const body = encoding === undefined ? file.body : file[encoding];

  if (encoding !== undefined) {
    void reply.header('Content-Encoding', encoding === 'brotli' ? 'br' : 'gzip');
  }

  await reply.status(200).type(file.contentType).send(body);
}

/** Picks brotli, then gzip, when the client accepts it and the file has that form. */
function preferredEncoding(header: string | undefined, file: UiFile): 'brotli' | 'gzip' | undefined {
  const accepted = new Set(
    (header ?? '')
      .split(',')
      .map((part) => part.trim().split(';'))
      .filter(([, quality]) => quality === undefined || !/^\s*q=0(\.0*)?\s*$/.test(quality))
      .map(([name]) => name.toLowerCase()),
  );

  if (file.brotli && accepted.has('br')) {
    return 'brotli';
  }

  return file.gzip && accepted.has('gzip') ? 'gzip' : undefined;
}
