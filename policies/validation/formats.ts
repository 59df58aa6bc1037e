// Value formats the operators parse with Go and Envoy rules, plus ajv-formats' `uri`:
// every format the serviceMesh schemas name, for the compiled validators.
import { fullFormats } from 'ajv-formats/dist/formats.js';

/** Go's time.ParseDuration: "300ms", "1m30s", "-1.5h", "0"; units ns us µs ms s m h. */
const GO_DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$/;
export const isGoDuration = (s: string): boolean => s === '0' || s === '+0' || s === '-0' || GO_DURATION.test(s);

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies (Istio also takes status codes). */
export const ENVOY_RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited',
  'retriable-4xx', 'refused-stream', 'retriable-status-codes', 'retriable-headers',
  'http3-post-connect-failure', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

export const badRetryOnTokens = (s: string): string[] =>
  s.split(',').map((t) => t.trim()).filter((t) => !(ENVOY_RETRY_ON.has(t) || /^[1-5]\d\d$/.test(t)));

export const isEnvoyRetryOn = (s: string): boolean => s.trim() !== '' && badRetryOnTokens(s).length === 0;

export const FORMATS: Record<string, (s: string) => boolean> = {
  'go-duration': isGoDuration,
  'envoy-retry-on': isEnvoyRetryOn,
  uri: fullFormats.uri as (s: string) => boolean,
};
