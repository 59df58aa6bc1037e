#!/usr/bin/env node
// Adds up the TAP results of every test tier into one plain line, `N passed, N failed`,
// which CI reads. Leaf assertions are counted; a subtest's own summary line is not (it
// repeats its children). A tier whose TAP is missing, empty or unfinished counts as a
// failure: a tier that did not run must never look green.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const countTap = (text) => {
  let passed = 0;
  let failed = 0;
  const open = []; // indents of subtests whose summary line has not come yet
  for (const line of text.split('\n')) {
    const sub = /^(\s*)# Subtest: /.exec(line);
    if (sub) {
      open.push(sub[1].length);
      continue;
    }
    const point = /^(\s*)(not ok|ok) \d+/.exec(line);
    if (!point) continue;
    const indent = point[1].length;
    if (open.length > 0 && open[open.length - 1] === indent) {
      open.pop();
      continue;
    }
    if (point[2] === 'ok') passed++;
    else failed++;
  }
  return { passed, failed, finished: /^1\.\.\d+/m.test(text) };
};

const [dir, ...tiers] = process.argv.slice(2);
let passed = 0;
let failed = 0;
for (const tier of tiers) {
  const file = join(dir, `${tier}.tap`);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const c = countTap(text);
  let note = '';
  if (c.passed + c.failed === 0) {
    failed++;
    note = ' (ran no test: counted as a failure)';
  } else if (!c.finished) {
    failed++;
    note = ' (did not finish: counted as a failure)';
  }
  console.log(`tier ${tier}: ${c.passed} passed, ${c.failed} failed${note}`);
  passed += c.passed;
  failed += c.failed;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
