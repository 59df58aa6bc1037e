// SARIF 2.1.0, so code-scanning UIs annotate the manifest lines directly. A result's level
// follows its action (what the cluster does), its severity is kept in the properties.
import type { Action } from '../../policies/enforcement.js';
import { formatPath, RULES, type RuleId, type Severity } from '../../policies/findings.js';
import type { CheckResult } from '../run-checks.js';

type Level = 'error' | 'warning' | 'note';
const LEVEL: Record<Severity, Level> = { error: 'error', warning: 'warning', info: 'note' };
const ACTION_LEVEL: Record<Action, Level> = { deny: 'error', warn: 'warning', audit: 'note' };

export const renderSarif = (r: CheckResult, version: string): string =>
  JSON.stringify(
    {
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      version: '2.1.0',
      runs: [
        {
          tool: {
            driver: {
              name: 'meshguard',
              version,
              informationUri: 'https://github.com/meshguard/meshguard/blob/main/docs/rules.md',
              rules: (Object.keys(RULES) as RuleId[]).map((id) => ({
                id,
                shortDescription: { text: RULES[id].title },
                helpUri: `https://github.com/meshguard/meshguard/blob/main/docs/rules.md#${id.toLowerCase()}`,
                defaultConfiguration: { level: LEVEL[RULES[id].severity] },
              })),
            },
          },
          results: r.findings.map((f) => ({
            ruleId: f.rule,
            level: ACTION_LEVEL[f.action],
            message: { text: f.message },
            properties: { severity: f.severity, action: f.action },
            locations: [
              {
                physicalLocation: { artifactLocation: { uri: f.file }, region: { startLine: f.line } },
                logicalLocations: [{ fullyQualifiedName: `${f.kind}/${f.namespace}/${f.name}/${formatPath(f.path)}` }],
              },
            ],
          })),
        },
      ],
    },
    null,
    2,
  ) + '\n';
