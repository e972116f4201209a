/** Credentials from an `Authorization` header. */
export type PresentedCredentials =
  | { scheme: 'none' }
  | { scheme: 'basic'; username: string; password: string }
  | { scheme: 'bearer'; token: string };

export class MalformedAuthorizationError extends Error {}

const base64Pattern = /^[A-Za-z0-9+/]+={0,2}$/;
const tokenPattern = /^[A-Za-z0-9._~+/-]+=*$/;

/** Parses an `Authorization` header; throws MalformedAuthorizationError with a reason a client can act on. */
export function parseAuthorization(header: string | string[] | undefined): PresentedCredentials {
  if (header === undefined) {
    return { scheme: 'none' };
  }

  if (Array.isArray(header)) {
    throw new MalformedAuthorizationError('send one Authorization header, not several');
  }

  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();

  if (scheme === 'basic') {
    return parseBasic(value);
  }

  if (scheme === 'bearer') {
    if (!tokenPattern.test(value)) {
      throw new MalformedAuthorizationError(
        'the Bearer token is missing or has characters a token cannot have',
      );
    }

    return { scheme: 'bearer', token: value };
  }

  throw new MalformedAuthorizationError('the Authorization scheme must be Basic or Bearer');
}

function parseBasic(value: string): PresentedCredentials {
  if (!base64Pattern.test(value) || value.length % 4 !== 0) {
    throw new MalformedAuthorizationError('the Basic credentials are not valid base64');
  }

  const decoded = Buffer.from(value, 'base64');
  const text = new TextDecoder('utf-8', { fatal: true });
  let pair: string;

  try {
    pair = text.decode(decoded);
  } catch {
    throw new MalformedAuthorizationError('the Basic credentials are not UTF-8 text');
  }

  const colon = pair.indexOf(':');

  if (colon <= 0) {
    throw new MalformedAuthorizationError(
      'the Basic credentials must be "username:password" with a username',
    );
  }

  return { scheme: 'basic', username: pair.slice(0, colon), password: pair.slice(colon + 1) };
}
