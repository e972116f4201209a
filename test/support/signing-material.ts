import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, type KeyObject, sign, X509Certificate, constants } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { type Descriptor, ociMediaTypes, tagInLayout, writeBlob } from './oci-layout.js';

const run = promisify(execFile);

/** The annotation a cosign signature layer carries its signature in. */
export const cosignSignatureAnnotation = 'dev.cosignproject.cosign/signature';
export const cosignLayerType = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const notationArtifactType = 'application/vnd.cncf.notary.signature';
export const bundleType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const emptyType = 'application/vnd.oci.empty.v1+json';

/** A certificate authority and a code-signing leaf it issued, made with openssl for one test run. */
export interface TestPki {
  rootPem: string;
  leafPem: string;
  leafKey: KeyObject;
  rootPath: string;
  leafSubject: string;
}

/**
 * Makes a root CA and a leaf certificate for code signing with openssl, as a signing team would: RSA
 * 3072 keys, the root limited to one level below it, the leaf with the code-signing extended key usage.
 */
export async function createTestPki(directory: string, name: string): Promise<TestPki> {
  const path = (file: string) => join(directory, `${name}-${file}`);
  const leafSubject = `/C=US/ST=WA/O=Wharf Test/CN=${name} signer`;

  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:3072',
    '-nodes',
    '-keyout',
    path('root.key'),
    '-out',
    path('root.crt'),
    '-days',
    '3650',
    '-subj',
    `/C=US/ST=WA/O=Wharf Test/CN=${name} root`,
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:1',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', [
    'req',
    '-newkey',
    'rsa:3072',
    '-nodes',
    '-keyout',
    path('leaf.key'),
    '-out',
    path('leaf.csr'),
    '-subj',
    leafSubject,
  ]);
  await writeFile(
    path('leaf.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    path('leaf.csr'),
    '-CA',
    path('root.crt'),
    '-CAkey',
    path('root.key'),
    '-CAcreateserial',
    '-out',
    path('leaf.crt'),
    '-days',
    '365',
    '-extfile',
    path('leaf.ext'),
  ]);

  return {
    rootPem: await readFile(path('root.crt'), 'utf8'),
    leafPem: await readFile(path('leaf.crt'), 'utf8'),
    leafKey: createPrivateKey(await readFile(path('leaf.key'))),
    rootPath: path('root.crt'),
    leafSubject,
  };
}

/** Builds the simple-signing payload cosign signs for an image. */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': repository },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** Signs bytes as cosign does: ECDSA and RSA over SHA-256 (RSA with PKCS #1 v1.5), Ed25519 directly. */
export function cosignSign(key: KeyObject, payload: Buffer): string {
  const hash = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';

  return sign(hash, payload, key).toString('base64');
}

/**
 * Writes a cosign signature manifest into an OCI layout under `tag`: a config and one layer per
 * signature, each layer the payload with its base64 signature as an annotation.
 */
export async function writeCosignSignature(
  layout: string,
  tag: string,
  layers: readonly { payload: Buffer; annotations: Record<string, string>; mediaType?: string }[],
): Promise<Descriptor> {
  const written: (Descriptor & { annotations: Record<string, string> })[] = [];

  for (const layer of layers) {
    const blob = await writeBlob(layout, layer.mediaType ?? cosignLayerType, layer.payload);

    written.push({ ...blob, annotations: layer.annotations });
  }

  const config = await writeBlob(
    layout,
    ociMediaTypes.imageConfig,
    Buffer.from(
      JSON.stringify({
        architecture: '',
        os: '',
        config: {},
        rootfs: { type: 'layers', diff_ids: written.map((layer) => layer.digest) },
      }),
    ),
  );

  return tagged(layout, tag, {
    schemaVersion: 2,
    mediaType: ociMediaTypes.imageManifest,
    config,
    layers: written,
  });
}

/**
 * Reads a cosign signature in containers/image's on-disk form (a NUL byte, `sigstore-json\n` and JSON
 * with the base64 payload and the layer annotations), as the fixtures hold it.
 */
export async function readStoredCosignSignature(
  path: string,
): Promise<{ payload: Buffer; annotations: Record<string, string>; mediaType: string }> {
  const bytes = await readFile(path);
  const json = JSON.parse(bytes.subarray(bytes.indexOf('\n') + 1).toString('utf8')) as {
    mimeType: string;
    payload: string;
    annotations: Record<string, string>;
  };

  return {
    payload: Buffer.from(json.payload, 'base64'),
    annotations: json.annotations,
    mediaType: json.mimeType,
  };
}

function base64url(bytes: Buffer | string): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Builds a notation JWS envelope (JSON serialization, PS256, notary.x509) that signs `subject`. */
export function notationJws(subject: Descriptor, pki: TestPki, signingTime = new Date()): Buffer {
  const header = {
    alg: 'PS256',
    crit: ['io.cncf.notary.signingScheme'],
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': signingTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const payload = {
    targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const protectedHeader = base64url(JSON.stringify(header));
  const encodedPayload = base64url(JSON.stringify(payload));
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${encodedPayload}`), {
    key: pki.leafKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  });
  const chain = [pki.leafPem, pki.rootPem].map((pem) => new X509Certificate(pem).raw.toString('base64'));

  return Buffer.from(
    JSON.stringify({
      payload: encodedPayload,
      protected: protectedHeader,
      header: { x5c: chain, 'io.cncf.notary.signingAgent': 'wharf-test' },
      signature: base64url(signature),
    }),
  );
}

/** Writes a notation signature manifest (a referrer of `subject`) around `envelope`, tagged `tag`. */
export async function writeNotationSignature(
  layout: string,
  tag: string,
  subject: Descriptor,
  envelope: Buffer,
  envelopeType = 'application/jose+json',
): Promise<Descriptor> {
  const config = await writeBlob(layout, notationArtifactType, Buffer.from('{}'));
  const layer = await writeBlob(layout, envelopeType, envelope);

  return tagged(layout, tag, {
    schemaVersion: 2,
    mediaType: ociMediaTypes.imageManifest,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
}

/**
 * Builds a key-signed sigstore bundle (v0.3) as `cosign sign --new-bundle-format` writes one: a DSSE
 * envelope with an in-toto statement whose subject is the image digest, signed with `key`.
 */
export function sigstoreBundle(subjectDigest: string, key: KeyObject, publicKeyDer: Buffer): Buffer {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'image', digest: { sha256: subjectDigest.slice('sha256:'.length) } }],
    predicateType: 'https://sigstore.dev/cosign/sign/v1',
    predicate: {},
  };
  const payload = Buffer.from(JSON.stringify(statement));
  const payloadType = 'application/vnd.in-toto+json';
  const pae = Buffer.concat([
    Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `),
    payload,
  ]);

  return Buffer.from(
    JSON.stringify({
      mediaType: bundleType,
      verificationMaterial: {
        publicKey: { hint: createHash('sha256').update(publicKeyDer).digest('base64') },
      },
      dsseEnvelope: {
        payload: payload.toString('base64'),
        payloadType,
        signatures: [{ sig: sign('sha256', pae, key).toString('base64'), keyid: '' }],
      },
    }),
  );
}

/** Writes a sigstore bundle referrer of `subject`, tagged `tag`. */
export async function writeBundleReferrer(
  layout: string,
  tag: string,
  subject: Descriptor,
  bundle: Buffer,
): Promise<Descriptor> {
  const config = await writeBlob(layout, emptyType, Buffer.from('{}'));
  const layer = await writeBlob(layout, bundleType, bundle);

  return tagged(layout, tag, {
    schemaVersion: 2,
    mediaType: ociMediaTypes.imageManifest,
    artifactType: bundleType,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
}

async function tagged(layout: string, tag: string, manifest: object): Promise<Descriptor> {
  const descriptor = await writeBlob(
    layout,
    ociMediaTypes.imageManifest,
    Buffer.from(JSON.stringify(manifest)),
  );

  await tagInLayout(layout, tag, descriptor);

  return descriptor;
}
