// expandPaths orders a directory's entries by localeCompare; sortByName compares names
// that the locale orders as code units without it (ICU's collator costs 1% of a check).
// The seed is printed; FC_SEED=<seed> replays.
import t from 'tap';
import fc from 'fast-check';
import { rootCollation, sortByName } from '../../../cli/inputs.js';

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
// The fast path's alphabet and its neighbours that ICU orders differently from ASCII
// ('_' before '-', uppercase beside lowercase, '~', non-ASCII).
const char = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...'abyz019.-') }, { weight: 1, arbitrary: fc.constantFrom(...'_AZ~ åß') });
const names = fc.array(fc.array(char, { maxLength: 8 }).map((cs) => cs.join('')), { maxLength: 12 });
const entries = (ns: string[]) => ns.map((name) => ({ name }));

t.test('names sort as localeCompare sorts them', async (t) => {
  t.comment(`fast-check seed ${SEED} (replay: FC_SEED=${SEED})`);
  const en = new Intl.Collator('en');
  fc.assert(
    fc.property(names, (ns) => {
      // Under the root/English collation the fast path must agree with ICU's.
      t.same(sortByName(entries(ns), {}).map((e) => e.name), [...ns].sort(en.compare));
      // Whatever this process's locale is, the answer is localeCompare's.
      t.same(sortByName(entries(ns)).map((e) => e.name), [...ns].sort((a, b) => a.localeCompare(b)));
    }),
    { numRuns: 500, seed: SEED },
  );
});

t.test('only the root and English collations take the code-unit order', async (t) => {
  for (const env of [{}, { LANG: 'C' }, { LANG: 'C.UTF-8' }, { LANG: 'POSIX' }, { LANG: 'en_US.UTF-8' }, { LANG: 'en' }, { LC_ALL: 'en_GB.UTF-8', LANG: 'da_DK.UTF-8' }])
    t.ok(rootCollation(env), JSON.stringify(env));
  for (const env of [{ LANG: 'da_DK.UTF-8' }, { LC_MESSAGES: 'sv_SE', LANG: 'C' }, { LC_ALL: 'de_DE.UTF-8' }, { LANG: 'en_US_POSIX' }])
    t.notOk(rootCollation(env), JSON.stringify(env));
  // Danish orders "aa" after "z": its names keep localeCompare's order.
  t.same(sortByName(entries(['ab', 'aa', 'z']), { LANG: 'da_DK.UTF-8' }).map((e) => e.name), ['ab', 'aa', 'z'].sort((a, b) => a.localeCompare(b)));
});
