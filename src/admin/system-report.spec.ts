import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { WharfConfig } from '../config/config.schema.js';
import {
  featuresOf,
  redactConfig,
  redactedValue,
  wharfVersion,
  withoutUrlPassword,
} from './system-report.js';

describe('redactConfig', () => {
  it('redacts values under secret-like keys', () => {
    const redacted = redactConfig({
      password: 'p1',
      clientSecret: 's1',
      token: 't1',
      refreshToken: 't2',
      credentials: 'c1',
      nested: [{ passwd: 'p2' }],
    });

    assert.deepEqual(redacted, {
      password: redactedValue,
      clientSecret: redactedValue,
      token: redactedValue,
      refreshToken: redactedValue,
      credentials: redactedValue,
      nested: [{ passwd: redactedValue }],
    });
  });

  it('keeps file paths and settings objects', () => {
    const config = {
      auth: {
        token: { ttl: '5m', signingKeyFile: '/k.pem' },
        oidc: { clientSecretFile: '/run/secrets/oidc' },
      },
      upstreams: [{ passwordFile: '/run/secrets/hub', username: 'wharf' }],
    };

    assert.deepEqual(redactConfig(config), config);
  });

  it('removes passwords from URLs', () => {
    assert.deepEqual(redactConfig({ database: { url: 'postgres://wharf:pw@db.example/wharf' } }), {
      database: { url: 'postgres://wharf:redacted@db.example/wharf' },
    });
  });

  it('keeps empty and missing values', () => {
    assert.deepEqual(redactConfig({ password: null, token: undefined, port: 5000 }), {
      password: null,
      token: undefined,
      port: 5000,
    });
  });
});

describe('withoutUrlPassword', () => {
  it('leaves URLs without a password unchanged', () => {
    assert.equal(withoutUrlPassword('https://registry-1.docker.io'), 'https://registry-1.docker.io');
    assert.equal(withoutUrlPassword('https://alice@ghcr.io'), 'https://alice@ghcr.io');
  });

  it('leaves plain text unchanged', () => {
    assert.equal(withoutUrlPassword('127.0.0.0/8'), '127.0.0.0/8');
    assert.equal(withoutUrlPassword('not a url ://'), 'not a url ://');
  });
});

describe('featuresOf', () => {
  it('reports an open registry', () => {
    const features = featuresOf(new WharfConfig());

    assert.deepEqual(features.auth, {
      enabled: false,
      htpasswd: false,
      oidc: false,
      forwardAuth: false,
      apiKeys: false,
    });
    assert.deepEqual(features.upstreams, []);
    assert.equal(features.database, 'sqlite');
  });
});

describe('wharfVersion', () => {
  it('reads the package version', () => {
    assert.match(wharfVersion(), /^\d+\.\d+\.\d+/);
  });
});
