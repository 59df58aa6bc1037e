// Requests to the API server through @kubernetes/client-node's own request path (its
// RequestContext, the KubeConfig's authentication, its fetch-based HTTP library: what every
// generated API method sends), without the generated per-group API classes: those import
// the ObjectSerializer and with it all ~750 generated models, ~30-40 MB of RSS for the
// webhook and the syncer (docs/operations.md). Bodies go and come as plain JSON, as the
// watch events do; the models would only turn timestamps into Dates and drop unknown fields.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { HttpMethod, IsomorphicFetchHttpLibrary, type RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';

const http = new IsomorphicFetchHttpLibrary();

/** The HTTP status of a failed request: ApiException's `code` (ours and the generated methods'), or a `statusCode`. */
export const statusCodeOf = (err: unknown): number | undefined => {
  const e = err as { code?: unknown; statusCode?: unknown } | undefined;
  return typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
};

/** A generated method's per-call options as far as they apply here: setHeaderOptions' middleware (e.g. a patch's Content-Type). */
export interface CallOptions {
  middleware?: { pre(context: RequestContext): { toPromise(): Promise<RequestContext> } }[];
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  options?: CallOptions;
}

/** `method path`; the answer's JSON, or ApiException (code, body) for a non-2xx answer, as the generated methods throw. */
export async function kubeRequest(kc: KubeConfig, method: keyof typeof HttpMethod, path: string, req: RequestOptions = {}): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  let context = new ServerConfiguration(cluster.server, {}).makeRequestContext(path, HttpMethod[method]);
  context.setHeaderParam('Accept', 'application/json');
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) context.setQueryParam(k, v);
  if (req.body !== undefined) {
    context.setHeaderParam('Content-Type', 'application/json');
    context.setBody(JSON.stringify(req.body));
  }
  for (const m of req.options?.middleware ?? []) context = await m.pre(context).toPromise();
  await kc.applySecurityAuthentication(context);
  const response = await http.send(context).toPromise();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, 'Unknown API Status Code!', await response.getBodyAsAny(), response.headers);
  }
  const text = await response.body.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** A page of a list: at most `limit` objects, from where the previous page's `metadata.continue` says. */
export interface ListPage {
  limit: number;
  continue?: string;
}

/** An informer's list: GET `path` (a collection, e.g. /api/v1/pods), optionally label-selected, whole or one page. */
export const listPath = async (kc: KubeConfig, path: string, labelSelector?: string, page?: ListPage): Promise<KubernetesListObject<KubernetesObject>> =>
  (await kubeRequest(kc, 'GET', path, {
    query: { labelSelector, ...(page ? { limit: String(page.limit), continue: page.continue } : {}) },
  })) as KubernetesListObject<KubernetesObject>;
