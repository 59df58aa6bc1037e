// Go's strconv.ParseBool, because consul-k8s reads its switches with it: exactly these
// spellings are booleans, anything else (including "yes", "on", " true") is an error.

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** The accepted spellings, for messages. */
export const GO_BOOL_SPELLINGS = '1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False';

/** true / false as Go's strconv.ParseBool reads `text`; undefined where Go returns an error. */
export const parseGoBool = (text: string): boolean | undefined => {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
};

/** An error message for a value Go's ParseBool rejects, undefined when it parses. */
export const goBoolError = (text: string): string | undefined =>
  parseGoBool(text) === undefined
    ? `${JSON.stringify(text)} is not a boolean as Go parses it; use "true" or "false" (accepted spellings: ${GO_BOOL_SPELLINGS})`
    : undefined;
