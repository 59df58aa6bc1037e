// Runs the compiled serviceMesh schemas and turns ajv's errors into findings a person
// can act on (MG101 for shape errors, MG107 for fields the operator would ignore).
import type { ErrorObject, ValidateFunction } from 'ajv';
import { finding, formatPath, type Finding, type Path } from '../findings.js';
import type { ServiceMeshDialect } from '../targets/profile.js';
import { annotations, observabilityPlatform } from './compiled-schemas.js';
import { badRetryOnTokens } from './formats.js';

// Compiled at build time from schemas.ts (scripts/compile-schemas.ts): no ajv at run time.
const VALIDATORS: Record<ServiceMeshDialect, ValidateFunction> = {
  annotations: annotations as ValidateFunction,
  'observability-platform': observabilityPlatform as ValidateFunction,
};

const pointerToPath = (pointer: string): string[] =>
  pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

const describe = (e: ErrorObject, where: string): string => {
  const got = ` (got ${show(e.data)})`;
  const p = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'type':
      return `${where} must be ${p.type === 'object' ? 'a map' : `a ${p.type}`}${got}.`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}${got}.`;
    case 'minimum':
    case 'maximum':
      return `${where} must be ${e.keyword === 'minimum' ? '>=' : '<='} ${p.limit}${got}.`;
    case 'minLength':
      return `${where} must not be empty.`;
    case 'required':
      return `${where} is missing the required field "${p.missingProperty}".`;
    case 'pattern':
    case 'format':
      if (p.format === 'go-duration')
        return `${where} must be a Go duration such as "10s", "500ms" or "1m30s"${got}.`;
      if (p.format === 'envoy-retry-on')
        return `${where} has retry conditions Envoy does not know: ${badRetryOnTokens(String(e.data)).map(show).join(', ') || '(empty)'}; use a comma-separated list such as "5xx,reset,connect-failure".`;
      return `${where} must be an https:// URL${got}.`;
    default:
      return `${where} ${e.message ?? 'is invalid'}${got}.`;
  }
};

/** Schema findings for `serviceMesh` found at `base` (e.g. ['spec','serviceMesh']). */
export const checkServiceMeshSchema = (dialect: ServiceMeshDialect, serviceMesh: unknown, base: Path): Finding[] => {
  const validate = VALIDATORS[dialect];
  if (validate(serviceMesh)) return [];
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // `pattern` and `format` both fire for a bad https URL; one message is enough.
    const key = `${e.instancePath}|${e.keyword === 'pattern' ? 'format' : e.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const path = [...base, ...pointerToPath(e.instancePath)];
    if (e.keyword === 'additionalProperties') {
      const field = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {}).join(', ');
      out.push(
        finding(
          'MG107',
          `${formatPath([...path, field])} is not a field of ${formatPath(path)}; the operator would ignore it. Known fields: ${known}. Check the spelling or remove it.`,
          [...path, field],
          'warning',
          `${formatPath([...path, field])} is not a known field; it would be ignored`,
        ),
      );
      continue;
    }
    out.push(finding('MG101', describe(e, formatPath(path)), path));
  }
  return out;
};
