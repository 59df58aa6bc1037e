// Flags shared by the offline commands, and how they turn into a policy context.
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CONFIG, type PolicyConfig } from '../policies/config.js';
import { ACTIONS, isAction } from '../policies/enforcement.js';
import { MG_ERR_USAGE_FLAG } from '../policies/errors.js';
import { loadManifests, type SourceDoc } from './inputs.js';

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A commander option parser for a number in [min, max] (a whole number unless `integer: false`). */
export const numberOption =
  (min: number, max: number, { integer = true } = {}) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    return n;
  };

/** A port, or "off" as false (commander stores a parser's null as ''). */
export const portOrOff = (value: string): number | false => (value === 'off' ? false : numberOption(0, 65535)(value));

export interface OfflineOptions {
  state: string[];
  config?: string;
  namespace: string;
}

export const addOfflineOptions = (cmd: Command): Command =>
  cmd
    .option('--state <file>', 'YAML/JSON of what the cluster already holds (Namespaces, cluster CRs, Pods); repeatable', collect, [])
    .option('--config <file>', 'meshguard configuration file (target profiles, mesh options)')
    .option('-n, --namespace <name>', 'namespace for objects that do not name one', 'default');

/** `--enforcement`: one action for every finding, whatever the namespace labels and the configuration say. */
export const addEnforcementOption = (cmd: Command): Command =>
  cmd.option('--enforcement <action>', `act on every finding as ${ACTIONS.join('|')}, overriding namespace labels and the configuration`);

export const loadConfig = async (file: string | undefined, enforcement?: string): Promise<PolicyConfig> => {
  // Checked before the file is read: a usage error is reported as such, and first.
  if (enforcement !== undefined && !isAction(enforcement))
    throw MG_ERR_USAGE_FLAG('--enforcement', enforcement, `use ${ACTIONS.join(', ')}`);
  let config = DEFAULT_CONFIG;
  if (file) {
    const { loadConfigFile } = await import('./config-file.js');
    config = await loadConfigFile(file);
  }
  return enforcement === undefined ? config : { ...config, enforcement: { ...config.enforcement, override: enforcement } };
};

export const loadState = (files: readonly string[]): Promise<SourceDoc[]> => (files.length > 0 ? loadManifests(files) : Promise.resolve([]));
