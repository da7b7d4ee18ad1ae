// The HCL2 syntax pass: HashiCorp's real HCL2 parser (@cdktf/hcl2json, compiled to wasm) checks
// a file's syntax and turns it into block-structured values; its syntax errors become
// JobParseErrors with their positions. Stands in for the hclsyntax.ParseConfig step of Nomad's
// jobspec2/parse.go.
import { JobParseError, formatSyntaxMessage, type JobDiagnostic } from './diagnostics';

/**
 * @cdktf/hcl2json reads and inflates its wasm parser (about 20 MB) as soon as it is required, and
 * keeps it: required on the first parse instead, a lab cluster that never parses HCL (most stacks
 * until an attendee runs a job file) stays that much smaller (bench/README.md, provisioning).
 */
let hcl2jsonModule: Promise<typeof import('@cdktf/hcl2json')> | undefined;
export async function hcl2json(filename: string, src: string): Promise<unknown> {
  hcl2jsonModule ??= import('@cdktf/hcl2json');
  const m = await hcl2jsonModule;
  // A CommonJS package through import(): its named exports, or module.exports as the default.
  return (m.parse ?? (m as unknown as { default: typeof m }).default.parse)(filename, src);
}

/** hcl2json syntax errors look like "parse config: [f:3,13-4,1: Summary; Detail f:5,1-2: …]". */
export function syntaxDiagnostics(message: string, filename: string): JobDiagnostic[] {
  const esc = filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}:(\\d+),(\\d+)-(?:(\\d+),)?(\\d+): `, 'g');
  const starts: { index: number; end: number; m: RegExpExecArray }[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(message))) starts.push({ index: m.index, end: re.lastIndex, m });
  const out: JobDiagnostic[] = [];
  starts.forEach((s, i) => {
    let text = message.slice(s.end, i + 1 < starts.length ? starts[i + 1].index : undefined);
    text = text.replace(/\]\s*$/, '').trim();
    const semi = text.indexOf('; ');
    const line = Number(s.m[1]);
    out.push({
      summary: semi >= 0 ? text.slice(0, semi) : text,
      detail: semi >= 0 ? text.slice(semi + 2) : '',
      filename,
      line,
      column: Number(s.m[2]),
      endLine: s.m[3] ? Number(s.m[3]) : line,
      endColumn: Number(s.m[4]),
    });
  });
  if (out.length === 0) {
    out.push({ summary: 'Invalid HCL', detail: message.replace(/^parse config: \[?|\]$/g, ''), filename, line: 1, column: 1, endLine: 1, endColumn: 1 });
  }
  return out;
}

export async function hclToJson(filename: string, src: string): Promise<Record<string, unknown>> {
  try {
    return (await hcl2json(filename, src)) as Record<string, unknown>;
  } catch (e) {
    const diags = syntaxDiagnostics(e instanceof Error ? e.message : String(e), filename);
    throw new JobParseError(diags, formatSyntaxMessage(diags));
  }
}
