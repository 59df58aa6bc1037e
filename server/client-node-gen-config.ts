// What @kubernetes/client-node's config.js (KubeConfig) imports from its generated barrel
// gen/index.js, without the barrel's models and API groups (client-node-loading.ts).
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
