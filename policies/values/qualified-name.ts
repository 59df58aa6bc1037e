// Kubernetes qualified names, the grammar of annotation and label keys
// (apimachinery IsQualifiedName): an optional DNS-1123 subdomain prefix and "/", then a name.

const NAME_MAX = 63;
const PREFIX_MAX = 253;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** What is wrong with the name part of a key (after any "/"), or undefined. */
export const nameError = (name: string): string | undefined => {
  if (name === '') return 'the name part is empty; write it after the "/", e.g. "example.com/my-key"';
  if (name.length > NAME_MAX) return `the name part ${JSON.stringify(name)} is ${name.length} characters long; at most ${NAME_MAX} are allowed`;
  if (!NAME.test(name)) {
    return `the name part ${JSON.stringify(name)} must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit (e.g. "MyName", "my.name", "123-abc")`;
  }
  return undefined;
};

/** What is wrong with the prefix part of a key (before its "/"), or undefined. */
export const prefixError = (prefix: string): string | undefined => {
  if (prefix === '') return 'the prefix before "/" is empty; remove the "/" or write a DNS subdomain such as "example.com/"';
  if (prefix.length > PREFIX_MAX) return `the prefix is ${prefix.length} characters long; at most ${PREFIX_MAX} are allowed`;
  if (!SUBDOMAIN.test(prefix)) {
    return `the prefix ${JSON.stringify(prefix)} must be a lowercase DNS subdomain: dot-separated parts of lowercase letters, digits and '-', each starting and ending with a letter or digit (e.g. "sidecar.istio.io")`;
  }
  return undefined;
};

/** What is wrong with `key` as an annotation or label key, or undefined when it is valid. */
export const qualifiedNameError = (key: string): string | undefined => {
  // Found in place, not split: every annotation key of every object is asked.
  const slash = key.indexOf('/');
  if (slash < 0) return nameError(key);
  if (key.indexOf('/', slash + 1) >= 0) return `${JSON.stringify(key)} contains more than one "/"; a key is "prefix/name" or just "name"`;
  return prefixError(key.slice(0, slash)) ?? nameError(key.slice(slash + 1));
};

export const isQualifiedName = (key: string): boolean => qualifiedNameError(key) === undefined;

/** A DNS-1123 subdomain (apimachinery IsDNS1123Subdomain), e.g. "meshguard.meshguard-system.svc". */
export const isDnsSubdomain = (name: string): boolean => name.length <= PREFIX_MAX && SUBDOMAIN.test(name);
