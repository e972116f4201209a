import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';

import { NetworkList } from './common/networks.js';
import { validateConfig } from './config/config.loader.js';
import { createLogger, requestIdOf } from './http-server.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Builds the parts of a request that requestIdOf reads. */
function requestFrom(remoteAddress: string, requestId?: string): IncomingMessage {
  const headers = requestId === undefined ? {} : { 'x-request-id': requestId };

  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

describe('requestIdOf', () => {
  const proxies = new NetworkList(['10.0.0.0/8', '127.0.0.1']);

  it('trusted proxy id is kept', () => {
    assert.equal(requestIdOf(requestFrom('10.1.2.3', 'abc-123'), proxies), 'abc-123');
  });

  it('IPv4-mapped proxy address is trusted', () => {
    assert.equal(requestIdOf(requestFrom('::ffff:127.0.0.1', 'abc-123'), proxies), 'abc-123');
  });

  it('untrusted client id is replaced', () => {
    const id = requestIdOf(requestFrom('192.0.2.7', 'abc-123'), proxies);

    assert.notEqual(id, 'abc-123');
    assert.match(id, uuidPattern);
  });

  it('no trusted proxies replaces every id', () => {
    assert.match(requestIdOf(requestFrom('127.0.0.1', 'abc-123'), new NetworkList([])), uuidPattern);
  });

  it('malformed id from a proxy is replaced', () => {
    assert.match(requestIdOf(requestFrom('10.1.2.3', 'has spaces'), proxies), uuidPattern);
  });

  it('missing id is generated', () => {
    assert.match(requestIdOf(requestFrom('10.1.2.3'), proxies), uuidPattern);
  });
});

describe('createLogger redaction', () => {
  /** Logs one record through a real pino logger and returns it parsed. */
  function logged(fields: Record<string, unknown>): Record<string, unknown> {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger(validateConfig({}, 'test'), destination);

    logger.info(fields, 'record');

    return JSON.parse(lines.join('')) as Record<string, unknown>;
  }

  const secrets: [label: string, fields: Record<string, unknown>, path: string[]][] = [
    [
      'authorization header',
      { req: { headers: { authorization: 'Basic c2VjcmV0' } } },
      ['req', 'headers', 'authorization'],
    ],
    ['cookie header', { req: { headers: { cookie: 'wharf_session=s3cr3t' } } }, ['req', 'headers', 'cookie']],
    [
      'set-cookie header',
      { res: { headers: { 'set-cookie': 'wharf_session=s3cr3t' } } },
      ['res', 'headers', 'set-cookie'],
    ],
    ['password', { password: 's3cr3t' }, ['password']],
    ['nested password', { body: { password: 's3cr3t' } }, ['body', 'password']],
    ['nested token', { body: { token: 's3cr3t' } }, ['body', 'token']],
    ['nested secret', { key: { secret: 's3cr3t' } }, ['key', 'secret']],
    ['nested refresh token', { body: { refresh_token: 's3cr3t' } }, ['body', 'refresh_token']],
    ['client secret', { oidc: { clientSecret: 's3cr3t' } }, ['oidc', 'clientSecret']],
  ];

  for (const [label, fields, path] of secrets) {
    it(`redacts ${label}`, () => {
      const record = logged(fields);
      const value = path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], record);

      assert.equal(value, '[redacted]');
    });
  }

  it('keeps other fields', () => {
    const record = logged({ user: 'alice', req: { headers: { host: 'registry' } } });

    assert.equal(record.user, 'alice');
    assert.deepEqual(record.req, { headers: { host: 'registry' } });
  });
});
