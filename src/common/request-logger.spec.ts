import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';

import { pino } from 'pino';

import { createRequestLogger, RequestLogger } from './request-logger.js';

/** Creates a pino logger at `level` that keeps its lines and counts the children made from it. */
function createParent(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const parent = pino({ level }, destination);
  const created = { children: 0 };
  // pino's children inherit from their parent, so this counts grandchildren too. The method is called
  // with each logger's own `this` below, which keeps that logger's bindings.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called through `apply` with its `this`
  const child = parent.child;

  parent.child = function (this: typeof parent, ...args: Parameters<typeof child>) {
    created.children += 1;

    return child.apply(this, args);
  } as typeof parent.child;

  // The Writable takes each line on a later tick.
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  return { parent, lines, created, settled };
}

describe('RequestLogger', () => {
  it('skips lines below the level', async () => {
    const { parent, lines, created, settled } = createParent('warn');
    const logger = createRequestLogger(parent, { reqId: 'r1' }, {});

    logger.info({ url: '/v2/' }, 'request completed');
    logger.debug('details');
    await settled();

    assert.ok(logger instanceof RequestLogger);
    assert.equal(created.children, 0);
    assert.deepEqual(lines, []);
  });

  it('writes enabled levels through one child', async () => {
    const { parent, lines, created, settled } = createParent('warn');
    const logger = createRequestLogger(parent, { reqId: 'r2' }, {});

    logger.warn({ code: 'DENIED' }, 'request rejected');
    logger.error(new Error('broken'), 'request failed');
    logger.info('not written');
    await settled();

    assert.equal(created.children, 1);
    assert.deepEqual(
      lines.map((line) => [line.level, line.reqId, line.msg]),
      [
        [40, 'r2', 'request rejected'],
        [50, 'r2', 'request failed'],
      ],
    );
    assert.equal(lines[0].code, 'DENIED');
    assert.equal((lines[1].err as { message: string }).message, 'broken');
  });

  it('formats messages as pino does', async () => {
    const { parent, lines, settled } = createParent('info');
    const logger = createRequestLogger(parent, { reqId: 'r3' }, {});

    logger.info('pulled %s in %d ms', 'library/nginx', 12);
    await settled();

    assert.equal(lines[0].msg, 'pulled library/nginx in 12 ms');
    assert.equal(lines[0].reqId, 'r3');
  });

  it('passes bindings to its children', async () => {
    const { parent, lines, settled } = createParent('info');
    const logger = createRequestLogger(parent, { reqId: 'r4' }, {});

    assert.equal(logger.level, 'info');

    logger.child({ upstream: 'docker' }).info('fetched');
    logger.level = 'error';
    logger.warn('dropped');
    await settled();

    assert.deepEqual(
      lines.map((line) => [line.reqId, line.upstream, line.msg]),
      [['r4', 'docker', 'fetched']],
    );
    assert.equal(logger.level, 'error');
    assert.equal(parent.level, 'info');
  });

  it('uses a plain child for a route level', () => {
    const { parent, created } = createParent('warn');
    const logger = createRequestLogger(parent, { reqId: 'r5' }, { level: 'debug' });

    assert.ok(!(logger instanceof RequestLogger));
    assert.equal(created.children, 1);
    assert.equal(logger.level, 'debug');
  });
});
