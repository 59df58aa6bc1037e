// `--config FILE`: a YAML (or JSON) file mapping onto PolicyConfig, validated with ajv and
// merged over DEFAULT_CONFIG. Errors name the file, the line and the field, because the
// person reading them is editing that file.
//
//   profiles:
//     observability-platform: { enabled: false }      # turn a built-in profile off
//     antfly:
//       consensusPorts: [{ path: spec.raft.port, default: 9021 }]   # override a field
//     my-db:                                           # a new profile: cluster and clusterNameLabel required
//       cluster: { apiVersion: example.com/v1, kind: MyDB, plural: mydbs }
//       podLabels: { app.kubernetes.io/name: mydb }
//       clusterNameLabel: app.kubernetes.io/instance
//       consensusPorts: [{ path: [spec, raft, port], default: 7000 }]
//   mesh:
//     consulDefaultInject: false
//   enforcement:
//     default: audit                                   # deny (default) | warn | audit
//     rules: { MG201: warn }                           # per rule; a namespace label wins
//   analysis:
//     istioRootNamespace: istio-system
//     prometheusMeshed: false
//     admissionWarnings: false    # warn at apply time about MG3xx findings a write causes
//   ignoreLabel:
//     objects: false     # meshguard.io/ignore on workloads, templates and pods (namespaces: always)
import { Ajv, type ErrorObject } from 'ajv';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { DEFAULT_CONFIG, type PolicyConfig } from '../policies/config.js';
import { MeshguardError, MG_ERR_CONFIG, quote } from '../policies/errors.js';
import { ACTIONS, type EnforcementConfig } from '../policies/enforcement.js';
import { RULES } from '../policies/findings.js';
import type { ConsensusPort, TargetProfile } from '../policies/targets/profile.js';

/** MG_ERR_CONFIG of the error catalog; one problem per line (printed joined on one). */
export class ConfigFileError extends MeshguardError {
  override name = 'ConfigFileError';
  constructor(message: string) {
    super(MG_ERR_CONFIG.code, MG_ERR_CONFIG.exitCode, message);
  }
}

const labelKey = { type: 'string', minLength: 1, maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' };

const profileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'kind', 'plural'],
      properties: {
        // Cluster CRs are custom resources: always group/version.
        apiVersion: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/v[0-9]+((alpha|beta)[0-9]+)?$' },
        kind: { type: 'string', pattern: '^[A-Z][A-Za-z0-9]*$' },
        plural: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      },
    },
    podLabels: { type: 'object', propertyNames: labelKey, additionalProperties: { type: 'string', maxLength: 63 } },
    clusterNameLabel: labelKey,
    consensusPorts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'default'],
        properties: {
          path: {
            anyOf: [
              { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$' },
              { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            ],
          },
          default: { type: 'integer', minimum: 1, maximum: 65535 },
        },
      },
    },
    dialect: { enum: ['annotations', 'observability-platform'] },
  },
};

const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    profiles: {
      type: 'object',
      propertyNames: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
      additionalProperties: profileSchema,
    },
    mesh: {
      type: 'object',
      additionalProperties: false,
      properties: { consulDefaultInject: { type: 'boolean' } },
    },
    enforcement: {
      type: 'object',
      additionalProperties: false,
      properties: {
        default: { enum: [...ACTIONS] },
        // Rule ids are checked against the registry in mergeConfig, with the list in the message.
        rules: { type: 'object', additionalProperties: { enum: [...ACTIONS] } },
      },
    },
    analysis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        istioRootNamespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
        prometheusMeshed: { type: 'boolean' },
        admissionWarnings: { type: 'boolean' },
      },
    },
    ignoreLabel: {
      type: 'object',
      additionalProperties: false,
      properties: { objects: { type: 'boolean' } },
    },
  },
};

interface ProfileInput {
  enabled?: boolean;
  cluster?: TargetProfile['cluster'];
  podLabels?: Record<string, string>;
  clusterNameLabel?: string;
  consensusPorts?: { path: string | string[]; default: number }[];
  dialect?: TargetProfile['dialect'];
}

interface ConfigInput {
  profiles?: Record<string, ProfileInput>;
  mesh?: Partial<PolicyConfig['mesh']>;
  enforcement?: Partial<EnforcementConfig>;
  analysis?: PolicyConfig['analysis'];
  ignoreLabel?: { objects?: boolean };
}

const validate = new Ajv({ allErrors: true, strict: true }).compile<ConfigInput>(configSchema);

const describe = (e: ErrorObject): string => {
  if (e.keyword === 'additionalProperties') return `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'enum') return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'propertyNames') return `has an invalid key`;
  if (e.keyword === 'pattern') {
    const field = e.instancePath.split('/').pop() ?? '';
    const expected: Record<string, string> = {
      apiVersion: 'group/version of a custom resource, e.g. example.com/v1',
      kind: 'a CamelCase kind, e.g. MyDatabase',
      plural: 'the lowercase plural resource name, e.g. mydatabases',
      clusterNameLabel: 'a label key, e.g. app.kubernetes.io/instance',
      path: 'a dotted field path, e.g. spec.raft.port',
    };
    return `must be ${expected[field] ?? `of the form ${(e.params as { pattern: string }).pattern}`}`;
  }
  return e.message ?? e.keyword;
};

/** Merges the file's profiles over the built-in ones; `enabled: false` removes one. */
export function mergeConfig(input: ConfigInput, base: PolicyConfig = DEFAULT_CONFIG): PolicyConfig {
  const byName = new Map(base.profiles.map((p) => [p.name, p]));
  const problems: string[] = [];
  for (const [name, p] of Object.entries(input.profiles ?? {})) {
    const builtIn = byName.get(name);
    if (p.enabled === false) {
      byName.delete(name);
      continue;
    }
    const cluster = p.cluster ?? builtIn?.cluster;
    const clusterNameLabel = p.clusterNameLabel ?? builtIn?.clusterNameLabel;
    if (!cluster || !clusterNameLabel) {
      problems.push(`profile "${name}" is not built in, so it needs both "cluster" and "clusterNameLabel"`);
      continue;
    }
    const consensusPorts: ConsensusPort[] | undefined = p.consensusPorts?.map((c) => ({
      path: typeof c.path === 'string' ? c.path.split('.') : c.path,
      default: c.default,
    }));
    byName.set(name, {
      name,
      cluster,
      clusterNameLabel,
      podLabels: p.podLabels ?? builtIn?.podLabels ?? {},
      consensusPorts: consensusPorts ?? builtIn?.consensusPorts ?? [],
      dialect: p.dialect ?? builtIn?.dialect ?? 'annotations',
    });
  }
  const kinds = new Map<string, string>();
  for (const p of byName.values()) {
    const key = `${p.cluster.apiVersion} ${p.cluster.kind}`;
    const other = kinds.get(key);
    if (other) problems.push(`profiles "${other}" and "${p.name}" both claim ${p.cluster.kind} (${p.cluster.apiVersion})`);
    kinds.set(key, p.name);
  }
  const unknownRules = Object.keys(input.enforcement?.rules ?? {}).filter((id) => !(id in RULES));
  if (unknownRules.length > 0)
    problems.push(`enforcement.rules names ${unknownRules.map((id) => JSON.stringify(id)).join(', ')}, which are not meshguard rule ids (docs/rules.md lists them)`);
  if (problems.length > 0) throw new ConfigFileError(problems.join('\n'));
  return {
    profiles: [...byName.values()],
    mesh: { ...base.mesh, ...input.mesh },
    enforcement: {
      default: input.enforcement?.default ?? base.enforcement.default,
      rules: { ...base.enforcement.rules, ...input.enforcement?.rules },
    },
    ...(input.analysis ? { analysis: { ...base.analysis, ...input.analysis } } : {}),
    ignoreLabel: { objects: input.ignoreLabel?.objects ?? base.ignoreLabel?.objects ?? false },
  };
}

/** Parses and validates configuration text; `file` is only for messages. */
export function parseConfigText(text: string, file: string): PolicyConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lineCounter.linePos(e.pos[0]);
    throw new ConfigFileError(`${file}:${line}:${col}: ${e.message.split('\n')[0]}`);
  }
  const data = (doc.toJS() ?? {}) as unknown;
  if (!validate(data)) {
    const lines = (validate.errors ?? []).map((e) => {
      const segments = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
      const node = doc.getIn(segments, true) as { range?: [number, number, number] } | undefined;
      const where = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : '';
      const field = segments.length > 0 ? segments.join('.') : '(top level)';
      return `${file}${where}: ${field} ${describe(e)}`;
    });
    throw new ConfigFileError([...new Set(lines)].join('\n'));
  }
  try {
    return mergeConfig(data);
  } catch (err) {
    throw new ConfigFileError(`${file}: ${(err as Error).message}`);
  }
}

export async function loadConfigFile(file: string): Promise<PolicyConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    // The code (ENOENT, EISDIR, EACCES) says it; Node's message would repeat the path.
    throw new ConfigFileError(`cannot read config file ${quote(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfigText(text, file);
}
