// What @kubernetes/client-node's cache.js (ListWatch) uses of its ObjectSerializer: passing
// the label and field selectors through as query strings (client-node-loading.ts). The real
// serializer returns a 'string' value as it is; anything else is not a use this stands in for.
export const ObjectSerializer = {
  serialize(data: unknown, type: string): unknown {
    if (type !== 'string') throw new Error(`client-node-selectors: cache.js serialized a ${type}; only selector strings are expected`);
    return data;
  },
};
