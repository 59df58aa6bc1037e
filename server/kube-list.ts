// An informer's list call through @kubernetes/client-node's own request path (its
// RequestContext, the KubeConfig's authentication, its fetch-based HTTP library: what every
// generated API method sends), without the generated per-group API classes: those import
// the ObjectSerializer and with it all ~750 generated models, ~40 MB of the webhook's RSS
// (docs/operations.md). The policies read plain JSON, which is what the watch events are
// anyway; the models would only turn timestamps into Dates and drop unknown fields.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
import { HttpMethod, IsomorphicFetchHttpLibrary } from '@kubernetes/client-node/dist/gen/http/http.js';
import { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';

const http = new IsomorphicFetchHttpLibrary();

/** GET `path` (a collection, e.g. /api/v1/pods) as a list; a non-2xx answer throws ApiException as the generated methods do. */
export async function listPath(kc: KubeConfig, path: string, labelSelector?: string): Promise<KubernetesListObject<KubernetesObject>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('No active cluster!');
  const request = new ServerConfiguration(cluster.server, {}).makeRequestContext(path, HttpMethod.GET);
  request.setHeaderParam('Accept', 'application/json');
  if (labelSelector !== undefined) request.setQueryParam('labelSelector', labelSelector);
  await kc.applySecurityAuthentication(request);
  const response = await http.send(request).toPromise();
  if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
    throw new ApiException(response.httpStatusCode, 'Unknown API Status Code!', await response.getBodyAsAny(), response.headers);
  }
  return JSON.parse(await response.body.text()) as KubernetesListObject<KubernetesObject>;
}
