/**
 * A small, strict CBOR (RFC 8949) decoder and encoder, enough for COSE_Sign1 envelopes.
 *
 * Integers decode to numbers, or to bigints beyond `Number.MAX_SAFE_INTEGER`. Byte strings decode to
 * Buffers, text strings to strings, arrays to arrays and maps to `Map`s with number, bigint or
 * string keys. Tags decode to `CborTag`s. The simple values false, true, null and undefined, and
 * floats, decode to the JavaScript values of the same name.
 */

/** A CBOR data item as the decoder returns it and the encoder accepts it. */
export type CborValue =
  number | bigint | string | Buffer | boolean | null | undefined | CborValue[] | CborMap | CborTag;

/** A map key: COSE labels are integers or text strings, so other key types are rejected. */
export type CborKey = number | bigint | string;

export type CborMap = Map<CborKey, CborValue>;

/** A tagged data item, such as tag 18 (COSE_Sign1) or tag 1 (epoch-based date/time). */
export class CborTag {
  constructor(
    readonly tag: number | bigint,
    readonly value: CborValue,
  ) {}
}

/** The error every decoding problem raises; the message names the problem and its byte offset. */
export class CborError extends Error {
  override name = 'CborError';
}

/** Limits that keep a hostile input from using much memory or stack. */
export interface CborDecodeOptions {
  /** Deepest nesting of arrays, maps and tags accepted; 16 unless set. */
  maxDepth?: number;
}

const defaultMaxDepth = 16;
const breakByte = 0xff;

/**
 * Decodes one CBOR data item that must fill `bytes` exactly. Indefinite-length strings, arrays and
 * maps are decoded as RFC 8949 defines them. Raises a `CborError` on malformed input, on nesting
 * deeper than `maxDepth`, on duplicate or non-integer, non-text map keys, on invalid UTF-8, on
 * unassigned simple values and on trailing bytes.
 */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions = {}): CborValue {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  const value = reader.item(0);

  if (reader.offset !== reader.bytes.length) {
    throw new CborError(`unexpected data after the CBOR item at byte ${reader.offset}`);
  }

  return value;
}

/** A decoding position in one input; every read checks the input length first. */
class Reader {
  offset = 0;
  private readonly maxDepth: number;
  private readonly text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    readonly bytes: Buffer,
    options: CborDecodeOptions,
  ) {
    this.maxDepth = options.maxDepth ?? defaultMaxDepth;
  }

  item(depth: number): CborValue {
    const start = this.offset;
    const initial = this.take(1)[0];
    const major = initial >> 5;
    const info = initial & 0x1f;

    if (major === 7) {
      return this.simple(info, start);
    }

    if (info === 31) {
      return this.indefinite(major, depth, start);
    }

    const argument = this.argument(info, start);

    switch (major) {
      case 0:
        return argument;
      case 1:
        return negative(argument);
      case 2:
        return Buffer.from(this.take(this.length(argument, start)));
      case 3:
        return this.utf8(this.take(this.length(argument, start)), start);
      case 4:
        return this.array(this.count(argument, 1, start), depth, start);
      case 5:
        return this.map(this.count(argument, 2, start), depth, start);
      default:
        this.enter(depth, start);

        return new CborTag(argument, this.item(depth + 1));
    }
  }

  /** Reads the argument that follows the initial byte: a number, or a bigint beyond 2^53 - 1. */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) {
      return info;
    }

    switch (info) {
      case 24:
        return this.take(1)[0];
      case 25:
        return this.take(2).readUInt16BE(0);
      case 26:
        return this.take(4).readUInt32BE(0);
      case 27: {
        const value = this.take(8).readBigUInt64BE(0);

        return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
      }
      default:
        throw new CborError(`reserved additional information ${info} at byte ${start}`);
    }
  }

  private simple(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        return halfFloat(this.take(2).readUInt16BE(0));
      case 26:
        return this.take(4).readFloatBE(0);
      case 27:
        return this.take(8).readDoubleBE(0);
      case 31:
        throw new CborError(`unexpected break at byte ${start}`);
      default: {
        const value = info === 24 ? this.take(1)[0] : info;

        throw new CborError(`unsupported simple value ${value} at byte ${start}`);
      }
    }
  }

  private indefinite(major: number, depth: number, start: number): CborValue {
    switch (major) {
      case 2:
      case 3: {
        const chunks = this.chunks(major, start);

        return major === 2 ? chunks : this.utf8(chunks, start);
      }
      case 4: {
        this.enter(depth, start);

        const items: CborValue[] = [];

        while (!this.atBreak(start)) {
          items.push(this.item(depth + 1));
        }

        return items;
      }
      case 5: {
        this.enter(depth, start);

        const map: CborMap = new Map();

        while (!this.atBreak(start)) {
          this.entry(map, depth);
        }

        return map;
      }
      default:
        throw new CborError(`major type ${major} cannot have an indefinite length (byte ${start})`);
    }
  }

  /** Joins the definite-length chunks of an indefinite-length byte or text string. */
  private chunks(major: number, start: number): Buffer {
    const parts: Buffer[] = [];

    while (!this.atBreak(start)) {
      const chunkStart = this.offset;
      const initial = this.take(1)[0];

      if (initial >> 5 !== major || (initial & 0x1f) === 31) {
        throw new CborError(`invalid chunk in the indefinite-length string at byte ${chunkStart}`);
      }

      const length = this.length(this.argument(initial & 0x1f, chunkStart), chunkStart);
      const chunk = this.take(length);

      // Each chunk of a text string must be valid UTF-8 on its own.
      if (major === 3) {
        this.utf8(chunk, chunkStart);
      }

      parts.push(chunk);
    }

    return Buffer.concat(parts);
  }

  private array(count: number, depth: number, start: number): CborValue[] {
    this.enter(depth, start);

    const items: CborValue[] = [];

    for (let index = 0; index < count; index++) {
      items.push(this.item(depth + 1));
    }

    return items;
  }

  private map(count: number, depth: number, start: number): CborMap {
    this.enter(depth, start);

    const map: CborMap = new Map();

    for (let index = 0; index < count; index++) {
      this.entry(map, depth);
    }

    return map;
  }

  private entry(map: CborMap, depth: number): void {
    const keyStart = this.offset;
    const key = this.item(depth + 1);

    if (typeof key !== 'number' && typeof key !== 'bigint' && typeof key !== 'string') {
      throw new CborError(`map key at byte ${keyStart} is not an integer or text string`);
    }

    if (map.has(key)) {
      throw new CborError(`duplicate map key ${JSON.stringify(String(key))} at byte ${keyStart}`);
    }

    map.set(key, this.item(depth + 1));
  }

  private enter(depth: number, start: number): void {
    if (depth >= this.maxDepth) {
      throw new CborError(`nesting deeper than ${this.maxDepth} levels at byte ${start}`);
    }
  }

  /** Consumes a break byte if one is next; raises when the input ends before the break. */
  private atBreak(start: number): boolean {
    if (this.offset >= this.bytes.length) {
      throw new CborError(`indefinite-length item at byte ${start} has no break`);
    }

    if (this.bytes[this.offset] !== breakByte) {
      return false;
    }

    this.offset += 1;

    return true;
  }

  /** Checks a string length against the bytes left. */
  private length(argument: number | bigint, start: number): number {
    return this.count(argument, 1, start);
  }

  /** Checks an element count against the bytes left, since each element takes at least one byte. */
  private count(argument: number | bigint, bytesPerElement: number, start: number): number {
    const left = this.bytes.length - this.offset;

    if (typeof argument === 'bigint' || argument * bytesPerElement > left) {
      throw new CborError(`length ${argument} at byte ${start} exceeds the ${left} bytes left`);
    }

    return argument;
  }

  private take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) {
      throw new CborError(`unexpected end of input at byte ${this.offset}`);
    }

    const slice = this.bytes.subarray(this.offset, this.offset + length);

    this.offset += length;

    return slice;
  }

  private utf8(bytes: Buffer, start: number): string {
    try {
      return this.text.decode(bytes);
    } catch {
      throw new CborError(`text string at byte ${start} is not valid UTF-8`);
    }
  }
}

function negative(argument: number | bigint): number | bigint {
  if (typeof argument === 'number') {
    return -1 - argument;
  }

  const value = -1n - argument;

  return value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

/** Decodes an IEEE 754 half-precision float. */
function halfFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;

  if (exponent === 0) {
    return sign * fraction * 2 ** -24;
  }

  if (exponent === 31) {
    return fraction === 0 ? sign * Infinity : NaN;
  }

  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * Encodes a value with definite lengths and the shortest argument form. Numbers must be safe
 * integers, because COSE structures need no floats. Raises a `CborError` for any other number and
 * for a bigint outside the 64-bit range.
 */
export function encodeCbor(value: CborValue): Buffer {
  const parts: Buffer[] = [];

  encodeInto(value, parts);

  return Buffer.concat(parts);
}

function encodeInto(value: CborValue, parts: Buffer[]): void {
  if (value === false || value === true || value === null || value === undefined) {
    parts.push(Buffer.of(simpleByte(value)));
  } else if (typeof value === 'number' || typeof value === 'bigint') {
    encodeInteger(value, parts);
  } else if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');

    parts.push(head(3, bytes.length), bytes);
  } else if (Buffer.isBuffer(value)) {
    parts.push(head(2, value.length), value);
  } else if (Array.isArray(value)) {
    parts.push(head(4, value.length));
    value.forEach((item) => encodeInto(item, parts));
  } else if (value instanceof Map) {
    parts.push(head(5, value.size));

    for (const [key, item] of value) {
      encodeInto(key, parts);
      encodeInto(item, parts);
    }
  } else {
    parts.push(head(6, value.tag));
    encodeInto(value.value, parts);
  }
}

function simpleByte(value: boolean | null | undefined): number {
  if (value === undefined) {
    return 0xf7;
  }

  if (value === null) {
    return 0xf6;
  }

  return value ? 0xf5 : 0xf4;
}

function encodeInteger(value: number | bigint, parts: Buffer[]): void {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new CborError(`cannot encode ${value}: only safe integers are supported`);
  }

  const integer = BigInt(value);

  if (integer >= 0n) {
    parts.push(head(0, integer));
  } else {
    parts.push(head(1, -1n - integer));
  }
}

/** Builds the initial byte and argument of a data item in the shortest form. */
function head(major: number, argument: number | bigint): Buffer {
  const value = BigInt(argument);

  if (value < 0n || value > 0xffffffffffffffffn) {
    throw new CborError(`cannot encode ${value}: outside the 64-bit range`);
  }

  if (value < 24n) {
    return Buffer.of((major << 5) | Number(value));
  }

  if (value <= 0xffn) {
    return Buffer.of((major << 5) | 24, Number(value));
  }

  if (value <= 0xffffn) {
    const bytes = Buffer.alloc(3);

    bytes[0] = (major << 5) | 25;
    bytes.writeUInt16BE(Number(value), 1);

    return bytes;
  }

  if (value <= 0xffffffffn) {
    const bytes = Buffer.alloc(5);

    bytes[0] = (major << 5) | 26;
    bytes.writeUInt32BE(Number(value), 1);

    return bytes;
  }

  const bytes = Buffer.alloc(9);

  bytes[0] = (major << 5) | 27;
  bytes.writeBigUInt64BE(value, 1);

  return bytes;
}
