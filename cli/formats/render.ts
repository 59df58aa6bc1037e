// One place that turns a result into any of the output formats, for `check` and `analyze`.
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderSarif } from './sarif.js';
import { renderText } from './text.js';
import type { CheckResult } from '../run-checks.js';
import { MG_ERR_USAGE_FLAG } from '../../policies/errors.js';

export const FORMATS = ['text', 'json', 'junit', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

export const parseFormat = (value: string): Format => {
  if (!(FORMATS as readonly string[]).includes(value)) throw MG_ERR_USAGE_FLAG('--format', value, `use ${FORMATS.join(', ')}`);
  return value as Format;
};

export const render = (format: Format, result: CheckResult, version: string, colour: boolean): string =>
  format === 'json' ? renderJson(result) : format === 'junit' ? renderJunit(result) : format === 'sarif' ? renderSarif(result, version) : renderText(result, colour);

/** Colour on a terminal, unless NO_COLOR is set (https://no-color.org). */
export const colourOnStdout = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;
