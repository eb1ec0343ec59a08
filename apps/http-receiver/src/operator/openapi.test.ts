import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { validateBackupJobDefinition, validateBackupJobId, validateBackupRequestInput } from '@linebacker/domain';
import { openApiDocument } from './openapi.js';

/** The document as clients get it (JSON); its component schemas in a strict JSON Schema 2020-12 Ajv. */
type Document = typeof openApiDocument;
const document = JSON.parse(JSON.stringify(openApiDocument)) as Document & Required<Pick<Document, 'components' | 'paths'>> & {
  components: { schemas: Record<string, unknown> };
};
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajvFormats.default(ajv);
ajv.addKeyword('components'); // only a container here: the refs point into it
ajv.addSchema({ components: { schemas: document.components.schemas } }, 'openapi.json');

/** Compiles a schema of the document (its `#/components/...` refs resolved against the document). */
const compile = (schema: unknown) => ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"openapi.json#/')) as object);
const validators = new Map<string, ReturnType<typeof compile>>();
function schemaValidator(name: string) {
  if (!validators.has(name)) validators.set(name, compile({ $ref: `#/components/schemas/${name}` }));
  return validators.get(name)!;
}

/** Every schema object in the document, with where it is. */
function schemasIn(value: unknown, at = '#'): { schema: unknown; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => schemasIn(item, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === 'schema' ? [{ schema: item, at: `${at}/${key}` }] : schemasIn(item, `${at}/${key}`),
  );
}

/** Every `$ref` in the document, with where it is. */
function refsOf(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => refsOf(item, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === '$ref' && typeof item === 'string' ? [{ ref: item, at }] : refsOf(item, `${at}/${key}`),
  );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('resolves every $ref, and every schema in it compiles as strict JSON Schema 2020-12', () => {
    for (const { ref, at } of refsOf(document)) {
      const target = ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
      expect(target, `${ref} at ${at}`).toBeDefined();
    }
    for (const name of Object.keys(document.components.schemas)) expect(() => schemaValidator(name), name).not.toThrow();
    for (const { schema, at } of schemasIn(document.paths)) expect(() => compile(schema), at).not.toThrow();
    for (const { schema, at } of schemasIn(document.components, '#/components')) expect(() => compile(schema), at).not.toThrow();
  });

  it('has a unique operationId and a response on every operation', () => {
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).flatMap((operation) => (typeof operation === 'object' && 'operationId' in operation ? [operation.operationId] : [])),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(10);
  });
});

/*
 * The request body schemas accept and refuse what the domain validation does. Not comparable, so
 * not listed: "dataDate not more than 1 day in the future" (JSON Schema has no clock).
 */
describe('the body schemas agree with libs/domain', () => {
  const request = { backupJobId: 'nightly-db', dataDate: '2024-02-29', backupDataLocation: '/data/x' };
  const requestCases: [string, unknown][] = [
    ['valid', request],
    ['with the legacy apiVersion', { ...request, apiVersion: '2022-05-22' }],
    ['with an unknown field', { ...request, requesterId: 'someone-else' }],
    ['a job id of 50 characters', { ...request, backupJobId: 'a'.repeat(50) }],
    ['a job id of 51 characters', { ...request, backupJobId: 'a'.repeat(51) }],
    ['an empty job id', { ...request, backupJobId: '' }],
    ['a job id with a space', { ...request, backupJobId: 'nightly db' }],
    ['a job id with a non-ASCII letter', { ...request, backupJobId: 'nächtlich' }],
    ['a numeric job id', { ...request, backupJobId: 12 }],
    ['29 February of a common year', { ...request, dataDate: '2023-02-29' }],
    ['month 13', { ...request, dataDate: '2024-13-01' }],
    ['a date without leading zeros', { ...request, dataDate: '2024-1-5' }],
    ['a timestamp as date', { ...request, dataDate: '2024-01-05T00:00:00Z' }],
    ['a location of 250 characters', { ...request, backupDataLocation: 'x'.repeat(250) }],
    ['a location of 251 characters', { ...request, backupDataLocation: 'x'.repeat(251) }],
    ['an empty location', { ...request, backupDataLocation: '' }],
    ['a location with a newline', { ...request, backupDataLocation: '/data/\nx' }],
    ['a location with DEL', { ...request, backupDataLocation: '/data/\u007fx' }],
    ['a location with a C1 control', { ...request, backupDataLocation: '/data/\u0085x' }],
    ['a location with non-ASCII text', { ...request, backupDataLocation: '/données/été' }],
    ['another apiVersion', { ...request, apiVersion: '2023-01-01' }],
    ['a null apiVersion', { ...request, apiVersion: null }],
    ['no job id', { dataDate: request.dataDate, backupDataLocation: request.backupDataLocation }],
    ['no date', { backupJobId: request.backupJobId, backupDataLocation: request.backupDataLocation }],
    ['no location', { backupJobId: request.backupJobId, dataDate: request.dataDate }],
    ['an array', [request]],
    ['null', null],
  ];
  it.each(requestCases)('BackupRequestInput: %s', (_name, body) => {
    const domainAccepts = validateBackupRequestInput(body, new Date('2024-06-01T00:00:00Z')).ok;
    expect(schemaValidator('BackupRequestInput')(body)).toBe(domainAccepts);
  });

  const job = { storagePathName: 'vault/db', backupProviderCode: 'CloudA', daysToKeep: 30 };
  const jobCases: [string, unknown][] = [
    ['valid', job],
    ['with isActive and holdFlag', { ...job, isActive: false, holdFlag: true }],
    ['with an unknown field', { ...job, colour: 'blue' }],
    ['daysToKeep 1 and 36500', { ...job, daysToKeep: 1 }],
    ['daysToKeep 36500', { ...job, daysToKeep: 36500 }],
    ['daysToKeep 0', { ...job, daysToKeep: 0 }],
    ['daysToKeep 36501', { ...job, daysToKeep: 36501 }],
    ['daysToKeep 1.5', { ...job, daysToKeep: 1.5 }],
    ['daysToKeep as a string', { ...job, daysToKeep: '30' }],
    ['an unknown provider', { ...job, backupProviderCode: 'CloudC' }],
    ['isActive as a string', { ...job, isActive: 'yes' }],
    ['an empty storage path', { ...job, storagePathName: '' }],
    ['a storage path of 251 characters', { ...job, storagePathName: 'p'.repeat(251) }],
    ['no provider', { storagePathName: job.storagePathName, daysToKeep: job.daysToKeep }],
    ['null', null],
  ];
  it.each(jobCases)('BackupJobDefinition: %s', (_name, body) => {
    expect(schemaValidator('BackupJobDefinition')(body)).toBe(validateBackupJobDefinition(body).ok);
  });

  it.each(['nightly-db', 'a.b_c-9', 'x'.repeat(50), 'x'.repeat(51), '', 'a/b', 'a b'])('backupJobId path parameter: %j', (id) => {
    const parameter = document.paths?.['/api/v1/backup-jobs/{backupJobId}']?.get?.parameters?.find((p) => 'name' in p && p.name === 'backupJobId');
    expect(compile((parameter as { schema: unknown }).schema)(id)).toBe(validateBackupJobId(id).ok);
  });
});
