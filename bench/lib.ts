/**
 * Shared pieces of the benchmarks: the row shape every benchmark returns, statistics over
 * repeated runs, and small helpers (temp dirs, timing, machine facts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type Verdict = 'pass' | 'FAIL' | 'info' | 'skipped' | 'error';

export interface Row {
  /** `<section>: <what>` */
  name: string;
  /** Formatted median (or the single figure). */
  median: string;
  /** Formatted spread (p10–p90 over repeats, or min–max); '' when there is one figure. */
  spread: string;
  /** The target in words, or '' for context rows. */
  target: string;
  verdict: Verdict;
  /** One line: how it was measured, or why it was skipped. */
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  /** Repeats per measurement (7, or 5 in quick mode). */
  repeats: number;
  log(line: string): void;
  /** A temp dir removed when the run ends. */
  tempDir(prefix: string): string;
  /** Cleanup to run at the end even if the benchmark throws. */
  defer(fn: () => Promise<void> | void): void;
}

export interface Benchmark {
  /** Short id for `--only` (e.g. `tunnel`). */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export const median = (v: number[]): number => quantile(v, 0.5);

export interface Stats {
  median: number;
  p10: number;
  p90: number;
  min: number;
  max: number;
  n: number;
}

export function stats(values: number[]): Stats {
  return {
    median: median(values),
    p10: quantile(values, 0.1),
    p90: quantile(values, 0.9),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`.trim();
}

/** A row from repeated figures: median and p10–p90 (min–max below 10 runs). */
export function statRow(name: string, values: number[], unit: string, target: string, pass: ((median: number) => boolean) | null, note?: string): Row {
  const s = stats(values);
  const spread = s.n >= 10 ? `${fmt(s.p10, unit)}–${fmt(s.p90, unit)} (p10–p90, n=${s.n})` : `${fmt(s.min, unit)}–${fmt(s.max, unit)} (min–max, n=${s.n})`;
  return { name, median: fmt(s.median, unit), spread: s.n > 1 ? spread : '', target, verdict: pass ? (pass(s.median) ? 'pass' : 'FAIL') : 'info', note };
}

export function skippedRow(name: string, target: string, why: string): Row {
  return { name, median: '—', spread: '', target, verdict: 'skipped', note: why };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = nowMs();
  const value = await fn();
  return { ms: nowMs() - t0, value };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function machineFacts(): Record<string, string> {
  const cpus = os.cpus();
  return {
    CPU: `${cpus[0]?.model ?? 'unknown'}`,
    Cores: String(cpus.length),
    Memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${os.type()} ${os.release()} (${os.arch()})`,
    Node: process.version,
    Date: new Date().toISOString(),
  };
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ok-bench-${prefix}-`));
}

export const repoRoot = path.resolve(__dirname, '..');
