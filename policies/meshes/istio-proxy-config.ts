// `proxy.istio.io/config`: a ProxyConfig in YAML, which Istio's injector reads with
// validateProxyConfig (pkg/kube/inject/validate.go): protomarshal.ApplyYAML onto the
// default ProxyConfig (sigs.k8s.io/yaml, YAML 1.1 scalars; jsonpb, unknown fields ignored
// on the second try), then agent.ValidateMeshConfigProxyConfig. meshguard mirrors the
// decoding of the whole document and the fields below; other fields are not checked.
import { createRequire } from 'node:module';
import { isPlainObject } from '../k8s.js';

/**
 * The yaml library, loaded on the first annotation that needs it: its ~70 modules were a
 * tenth of `meshguard check`'s start-up, paid by every run whether or not an input carried
 * this annotation. Its Node entry point is CommonJS, so require() loads the very module an
 * `import` would, synchronously, and the check stays a plain function.
 */
type ParseYaml = (source: string, options: { version: '1.1'; uniqueKeys: boolean }) => unknown;
let yamlParse: ParseYaml | undefined;
const parse: ParseYaml = (source, options) => (yamlParse ??= (createRequire(import.meta.url)('yaml') as { parse: ParseYaml }).parse)(source, options);

type Check = (v: unknown) => string | undefined;

const isInt = (v: unknown): v is number | string =>
  (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^-?[0-9]+$/.test(v));
const int32: Check = (v) => (isInt(v) && Math.abs(Number(v)) <= 2147483647 ? undefined : 'must be a whole number');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
// ValidatePort: 1–65535.
const port: Check = (v) => int32(v) ?? (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port number 1–65535');
// google.protobuf.Duration in JSON: decimal seconds with an "s" suffix.
const DURATION = /^-?[0-9]+(\.[0-9]{1,9})?s$/;
const duration: Check = (v) => (typeof v === 'string' && DURATION.test(v) ? undefined : 'must be a duration in seconds such as "30s"');
// ValidateDrainDuration: a duration of whole seconds.
const drain: Check = (v) => duration(v) ?? (/^-?[0-9]+(\.0*)?s$/.test(v as string) && !String(v).startsWith('-') ? undefined : 'must be whole seconds, e.g. "45s"');
const stringMap: Check = (v) =>
  v === null || (isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string')) ? undefined : 'must be a map of strings';
const MODES = ['REDIRECT', 'TPROXY', 'NONE'];
const mode: Check = (v) => (typeof v === 'string' && MODES.includes(v) ? undefined : `must be one of ${MODES.join(', ')}`);

// jsonpb accepts a field's JSON name and its proto name.
const FIELDS: Record<string, Check> = {
  concurrency: int32,
  holdApplicationUntilProxyStarts: bool,
  hold_application_until_proxy_starts: bool,
  terminationDrainDuration: duration,
  termination_drain_duration: duration,
  drainDuration: drain,
  drain_duration: drain,
  statusPort: port,
  status_port: port,
  proxyAdminPort: port,
  proxy_admin_port: port,
  proxyMetadata: stringMap,
  proxy_metadata: stringMap,
  interceptionMode: mode,
  interception_mode: mode,
};

/** Why Istio would refuse this ProxyConfig, or undefined. */
export const proxyConfigError = (value: string): string | undefined => {
  let doc: unknown;
  try {
    doc = parse(value, { version: '1.1', uniqueKeys: false });
  } catch (e) {
    return `it is not YAML (${(e as Error).message.split('\n')[0]})`;
  }
  if (doc === null || doc === undefined) return undefined;
  if (!isPlainObject(doc)) return 'it must be a YAML mapping of ProxyConfig fields, e.g. "concurrency: 2"';
  for (const [k, v] of Object.entries(doc)) {
    const check = FIELDS[k];
    const error = check?.(v);
    if (error) return `${k} ${error}`;
  }
  return undefined;
};
