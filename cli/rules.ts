// `meshguard rules`: the rule registry as a list (id, severity, title), for people and for
// tools that map rule ids to severities.
import type { Command } from 'commander';
import { REGISTRY } from '../policies/rules/registry.js';
import { MG_ERR_USAGE_FLAG } from '../policies/errors.js';

const FORMATS = ['text', 'json'] as const;

export const renderRules = (format: 'text' | 'json'): string => {
  if (format === 'json')
    return (
      JSON.stringify(
        {
          rules: REGISTRY.map((r) => ({
            id: r.id,
            severity: r.severity,
            ...(r.severities ? { severities: r.severities } : {}),
            title: r.title,
            scope: r.scope === 'index' ? 'cross-object' : 'object',
            reads: r.reads,
          })),
        },
        null,
        2,
      ) + '\n'
    );
  const width = Math.max(...REGISTRY.map((r) => (r.severities ?? [r.severity]).join('/').length));
  return REGISTRY.map((r) => `${r.id}  ${(r.severities ?? [r.severity]).join('/').padEnd(width)}  ${r.title}`).join('\n') + '\n';
};

export function register(program: Command): void {
  program
    .command('rules')
    .description('list every rule: id, severity, title (docs/rules.md explains each)')
    .option('-f, --format <format>', `output format: ${FORMATS.join('|')}`, 'text')
    .action((opts: { format: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) throw MG_ERR_USAGE_FLAG('--format', opts.format, `use ${FORMATS.join(', ')}`);
      process.stdout.write(renderRules(opts.format as 'text' | 'json'));
    });
}
