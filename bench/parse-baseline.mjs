// Baseline for bench/check-throughput: read the same files and only parse them, with
// js-yaml (`js-yaml`) or the yaml library's document model (`yaml`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jsYaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';

const [which, dir] = process.argv.slice(2);
let docs = 0;
for (const f of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  docs += which === 'yaml' ? parseAllDocuments(text).length : jsYaml.loadAll(text).length;
}
process.stdout.write(`${docs}\n`);
