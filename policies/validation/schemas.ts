// JSON schemas of `spec.serviceMesh` for each dialect. `additionalProperties: false`
// marks where an unknown field would be silently ignored by the operator (MG107).
import type { JSONSchemaType } from 'ajv';

type Schema = Record<string, unknown>;

const duration: Schema = { type: 'string', format: 'go-duration' };
const bool: Schema = { type: 'boolean' };
const closed = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  additionalProperties: false,
  ...extra,
});

/** Antfly (and any annotation-style CRD): `enabled` + mesh annotations for the pod template. */
export const annotationsDialectSchema: Schema = closed({
  enabled: bool,
  annotations: { type: 'object', additionalProperties: { type: 'string' } },
});

/** The Gunj operator's ServiceMeshSpec, as its service-mesh guide documents it. */
export const observabilityPlatformSchema: Schema = closed({
  enabled: bool,
  type: { enum: ['auto', 'istio', 'linkerd'] },
  mtls: closed({ enabled: bool, mode: { enum: ['STRICT', 'PERMISSIVE', 'DISABLE'] } }),
  trafficManagement: closed({
    retry: closed({
      attempts: { type: 'integer', minimum: 1, maximum: 10 },
      perTryTimeout: duration,
      retryOn: { type: 'string', format: 'envoy-retry-on' },
    }),
    circuitBreaker: closed({
      consecutiveErrors: { type: 'integer', minimum: 1 },
      interval: duration,
      baseEjectionTime: duration,
      maxEjectionPercent: { type: 'integer', minimum: 0, maximum: 100 },
    }),
    timeout: closed({ request: duration, idle: duration }),
    loadBalancing: closed({
      algorithm: { enum: ['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'] },
      consistentHash: closed({
        httpHeaderName: { type: 'string', minLength: 1 },
        httpCookie: closed({ name: { type: 'string', minLength: 1 }, ttl: duration, path: { type: 'string' } }),
        useSourceIp: bool,
        httpQueryParameterName: { type: 'string', minLength: 1 },
      }),
    }),
  }),
  observability: closed({
    metrics: closed({ enabled: bool }),
    tracing: closed({ enabled: bool, samplingRate: { type: 'number', minimum: 0, maximum: 100 } }),
    accessLogs: closed({ enabled: bool, format: { enum: ['JSON', 'TEXT'] } }),
  }),
  multiCluster: closed({
    enabled: bool,
    clusterName: { type: 'string', minLength: 1 },
    network: { type: 'string', minLength: 1 },
    remoteClusters: {
      type: 'array',
      items: closed(
        {
          name: { type: 'string', minLength: 1 },
          endpoint: { type: 'string', format: 'uri', pattern: '^https://' },
          network: { type: 'string', minLength: 1 },
        },
        { required: ['name', 'endpoint'] },
      ),
    },
  }),
});

export type { JSONSchemaType };
