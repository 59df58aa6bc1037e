// Readable at a glance: grouped per file, coloured on a TTY, one summary line.
import { formatPath, type Severity } from '../../policies/findings.js';
import { summarize, type CheckResult, type LocatedFinding } from '../run-checks.js';

const COLOURS: Record<Severity | 'dim' | 'bold', [string, string]> = {
  error: ['\x1b[31m', '\x1b[39m'],
  warning: ['\x1b[33m', '\x1b[39m'],
  info: ['\x1b[36m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const renderText = (r: CheckResult, colour: boolean): string => {
  const c = (style: keyof typeof COLOURS, s: string): string => (colour ? `${COLOURS[style][0]}${s}${COLOURS[style][1]}` : s);
  const byFile = new Map<string, LocatedFinding[]>();
  for (const f of r.findings) {
    // Appended in place: copying the file's list for each finding was quadratic in one large file's findings.
    const list = byFile.get(f.file);
    if (list) list.push(f);
    else byFile.set(f.file, [f]);
  }
  const lines: string[] = [];
  for (const [file, fs] of byFile) {
    lines.push(c('bold', file));
    for (const f of [...fs].sort((a, b) => a.line - b.line)) {
      const sev = f.severity.padEnd(7);
      lines.push(`  ${String(f.line).padStart(4)}  ${c(f.severity, sev)} ${f.action.padEnd(5)} ${c('bold', f.rule)}  ${f.message}`);
      lines.push(c('dim', `        ${f.kind} ${f.namespace}/${f.name}  ${formatPath(f.path)}`));
    }
    lines.push('');
  }
  const s = summarize(r);
  const verdict = s.deny > 0 ? c('error', '✖') : c('info', '✔');
  lines.push(
    `${verdict} ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${s.infos} info in ${plural(s.documents, 'document')} (${plural(s.files, 'file')}); ${s.deny} denied, ${s.warn} warned, ${s.audit} audited`,
  );
  return lines.join('\n') + '\n';
};
