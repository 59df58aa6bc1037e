import fc from 'fast-check';
import t from 'tap';
import { goBoolError, parseGoBool } from '../../../policies/values/go-bool.js';

t.test('parseGoBool reads exactly Go strconv.ParseBool spellings', async (t) => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.equal(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) t.equal(parseGoBool(s), false, s);
  for (const s of ['', 'yes', 'on', 'tRUE', ' true', 'true ', '2', 'enabled']) t.equal(parseGoBool(s), undefined, JSON.stringify(s));
});

t.test('goBoolError', async (t) => {
  t.equal(goBoolError('True'), undefined);
  t.match(goBoolError('yes'), /"yes" is not a boolean as Go parses it; use "true" or "false" \(accepted spellings: 1, t, T/);
});

t.test('parseGoBool never throws and only accepts twelve spellings', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string(), (s) => {
        const v = parseGoBool(s);
        return v === undefined || ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s);
      }),
    ),
  );
});
