import type { KeyObject } from 'node:crypto';

/** Short Weierstrass curve y² = x³ - 3x + b over the prime field p, with generator g of order n. */
interface Curve {
  p: bigint;
  b: bigint;
  n: bigint;
  g: Point;
}

/** An affine point, or null for the point at infinity. */
type Point = { x: bigint; y: bigint } | null;

/** NIST P-256 and P-384 parameters (FIPS 186-4, appendix D.1.2), as `openssl ecparam -param_enc explicit` prints them. */
const curves: Record<string, Curve> = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    g: {
      x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
      y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    },
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    g: {
      x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
      y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    },
  },
};

/**
 * Verifies a DER ECDSA signature over a precomputed digest (FIPS 186-4, section 6.4.2), for P-256 and
 * P-384 keys. Node's crypto.verify() hashes its input itself, so it cannot check a signature when only
 * the digest is known. Only public values are involved, so this needs no constant-time arithmetic.
 * Returns false for other curves and for malformed signatures.
 */
export function verifyEcdsaDigest(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const curve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
  const rs = readSignature(signature);

  if (curve === undefined || rs === undefined) {
    return false;
  }

  const { r, s } = rs;

  if (r <= 0n || r >= curve.n || s <= 0n || s >= curve.n) {
    return false;
  }

  const jwk = key.export({ format: 'jwk' });
  const q = { x: fromBase64Url(jwk.x ?? ''), y: fromBase64Url(jwk.y ?? '') };
  const e = leftmostBits(digest, curve.n);
  const w = inverse(s, curve.n);
  const sum = add(curve, multiply(curve, curve.g, (e * w) % curve.n), multiply(curve, q, (r * w) % curve.n));

  return sum !== null && sum.x % curve.n === r;
}

/** Reads r and s from an ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }. */
function readSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) {
    return undefined;
  }

  const integers: bigint[] = [];
  let offset = 2;

  for (let index = 0; index < 2; index += 1) {
    const length = der[offset + 1];

    if (der[offset] !== 0x02 || length === undefined || length === 0 || offset + 2 + length > der.length) {
      return undefined;
    }

    integers.push(BigInt(`0x${der.subarray(offset + 2, offset + 2 + length).toString('hex')}`));
    offset += 2 + length;
  }

  return offset === der.length ? { r: integers[0], s: integers[1] } : undefined;
}

/** Takes as many leftmost bits of the digest as the group order has, as ECDSA requires. */
function leftmostBits(digest: Buffer, n: bigint): bigint {
  const value = BigInt(`0x${digest.toString('hex') || '0'}`);
  const excess = digest.length * 8 - n.toString(2).length;

  return excess > 0 ? value >> BigInt(excess) : value;
}

function fromBase64Url(text: string): bigint {
  return BigInt(`0x${Buffer.from(text, 'base64url').toString('hex') || '0'}`);
}

function modulo(value: bigint, m: bigint): bigint {
  const rest = value % m;

  return rest < 0n ? rest + m : rest;
}

/** The modular inverse by the extended Euclidean algorithm; m is prime, so it exists for value ≠ 0. */
function inverse(value: bigint, m: bigint): bigint {
  let [a, b] = [modulo(value, m), m];
  let [x, y] = [1n, 0n];

  while (b !== 0n) {
    const quotient = a / b;

    [a, b] = [b, a - quotient * b];
    [x, y] = [y, x - quotient * y];
  }

  return modulo(x, m);
}

function add(curve: Curve, first: Point, second: Point): Point {
  if (first === null) {
    return second;
  }

  if (second === null) {
    return first;
  }

  const { p } = curve;
  let slope: bigint;

  if (first.x === second.x) {
    if (modulo(first.y + second.y, p) === 0n) {
      return null;
    }

    // Doubling: the tangent's slope is (3x² + a) / 2y with a = -3.
    slope = modulo((3n * first.x * first.x - 3n) * inverse(2n * first.y, p), p);
  } else {
    slope = modulo((second.y - first.y) * inverse(second.x - first.x, p), p);
  }

  const x = modulo(slope * slope - first.x - second.x, p);

  return { x, y: modulo(slope * (first.x - x) - first.y, p) };
}

function multiply(curve: Curve, point: Point, scalar: bigint): Point {
  let result: Point = null;
  let addend = point;
  let rest = scalar;

  while (rest > 0n) {
    if ((rest & 1n) === 1n) {
      result = add(curve, result, addend);
    }

    addend = add(curve, addend, addend);
    rest >>= 1n;
  }

  return result;
}
