import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { findPackage } from '../../src/common/package-info.js';

const schemas = join(findPackage(import.meta.url).root, 'test', 'fixtures', 'sbom-schemas');

/** Reads one of the official SBOM schemas kept in test/fixtures/sbom-schemas. */
export function readSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(schemas, name), 'utf8')) as Record<string, unknown>;
}

/** Compiles the SPDX 2.3 JSON schema. */
export function spdxValidator(): ValidateFunction {
  return new Ajv({ allErrors: true }).compile(readSchema('spdx-schema-2-3.json'));
}

/**
 * Compiles the CycloneDX 1.5 schema. Its two sub-schemas are registered under the `.SNAPSHOT.`
 * names the BOM schema references. ajv-formats has no `iri-reference` or `idn-email`, so this
 * adds them: an IRI reference must resolve against a base URL, and an e-mail address needs one `@`.
 */
export function cycloneDxValidator(): ValidateFunction {
  const ajv = new Ajv({ allErrors: true });

  addFormats.default(ajv);
  ajv.addFormat('iri-reference', (value: string) => URL.canParse(value, 'https://base.example/'));
  ajv.addFormat('idn-email', /^[^\s@]+@[^\s@]+$/);
  ajv.addKeyword('meta:enum');
  ajv.addSchema({
    ...readSchema('spdx.SNAPSHOT.schema.json'),
    $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json',
  });
  ajv.addSchema({
    ...readSchema('jsf-0.82.SNAPSHOT.schema.json'),
    $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json',
  });

  return ajv.compile(readSchema('bom-1.5.SNAPSHOT.schema.json'));
}
