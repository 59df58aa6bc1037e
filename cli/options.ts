// Flags shared by the offline commands, and how they turn into a policy context.
import type { Command } from 'commander';
import { DEFAULT_CONFIG, type PolicyConfig } from '../policies/config.js';
import { loadManifests, type SourceDoc } from './inputs.js';

export const collect = (value: string, previous: string[]): string[] => [...previous, value];

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

export const loadConfig = async (file: string | undefined): Promise<PolicyConfig> => {
  if (!file) return DEFAULT_CONFIG;
  const { loadConfigFile } = await import('./config-file.js');
  return loadConfigFile(file);
};

export const loadState = (files: readonly string[]): Promise<SourceDoc[]> => (files.length > 0 ? loadManifests(files) : Promise.resolve([]));
