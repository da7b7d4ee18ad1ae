/**
 * `npm run bench [-- --only tunnel,organizer] [-- --quick]`: runs the benchmarks one after
 * another (never in parallel: they would measure each other), prints one table and writes
 * bench/RESULTS.md. Benchmarks are not tests: nothing here fails the build on a missed target,
 * the table says so instead.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { machineFacts, makeTempDir, repoRoot, type BenchContext, type Benchmark, type Row } from './lib';
import { activationBench } from './activation';
import { idleBench } from './idle';
import { latencyBench } from './latency';
import { scaleBench } from './scale';
import { tunnelBench } from './tunnel';
import { organizerBench } from './organizer';
import { provisioningBench } from './provisioning';
import { labclusterBench } from './labcluster';

const ALL: Benchmark[] = [activationBench, idleBench, latencyBench, scaleBench, tunnelBench, organizerBench, provisioningBench, labclusterBench];

function parseArgs(argv: string[]): { only?: Set<string>; quick: boolean; out: string } {
  let only: Set<string> | undefined;
  let quick = false;
  let out = path.join(__dirname, 'RESULTS.md');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--only') only = new Set(argv[++i]!.split(',').map((s) => s.trim()).filter(Boolean));
    else if (a.startsWith('--only=')) only = new Set(a.slice(7).split(',').map((s) => s.trim()).filter(Boolean));
    else if (a === '--out') out = path.resolve(argv[++i]!);
    else if (a === '--help' || a === '-h') {
      console.log(`usage: npm run bench -- [--quick] [--only ${ALL.map((b) => b.id).join(',')}] [--out FILE]`);
      process.exit(0);
    } else {
      console.error(`unknown option ${a} (try --help)`);
      process.exit(2);
    }
  }
  if (only) {
    const unknown = [...only].filter((id) => !ALL.some((b) => b.id === id));
    if (unknown.length) {
      console.error(`unknown benchmark ${unknown.join(', ')}; known: ${ALL.map((b) => b.id).join(', ')}`);
      process.exit(2);
    }
  }
  return { only, quick, out };
}

function table(rows: Row[]): string {
  const head = ['benchmark', 'median', 'spread', 'target', 'verdict'];
  const cells = rows.map((r) => [r.name, r.median, r.spread, r.target, r.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

function markdown(rows: Row[], facts: Record<string, string>, opts: { quick: boolean; only?: Set<string> }, durationS: number): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  out.push('# Open Kitchen benchmarks', '');
  out.push('Written by `npm run bench` (bench/run.ts); do not edit by hand. Each figure is the median over repeated runs');
  out.push('with its spread; comparisons are ratios of figures measured in the same run. Verdicts compare against the');
  out.push('targets of the benchmarks issue; "skipped" rows were not measured in this run and say why.', '');
  out.push('## Machine', '');
  for (const [k, v] of Object.entries(facts)) out.push(`- ${k}: ${v}`);
  out.push(`- Mode: ${opts.quick ? 'quick (`--quick`: shorter windows, fewer sizes)' : 'full'}${opts.only ? `, only ${[...opts.only].join(', ')}` : ''}`);
  out.push(`- Run time: ${durationS.toFixed(0)} s`, '');
  out.push('## Results', '');
  out.push('| benchmark | median | spread | target | verdict |', '|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${esc(r.name)} | ${esc(r.median)} | ${esc(r.spread)} | ${esc(r.target)} | ${r.verdict === 'FAIL' ? '**FAIL**' : r.verdict} |`);
  out.push('', '## Targets', '');
  const judged = rows.filter((r) => r.verdict === 'pass' || r.verdict === 'FAIL');
  for (const r of judged) {
    out.push(r.verdict === 'pass' ? `- Met: ${r.name} is ${r.median} (target ${r.target}).` : `- **Missed**: ${r.name} is ${r.median} (target ${r.target}).`);
  }
  for (const r of rows.filter((x) => x.verdict === 'skipped' || x.verdict === 'error')) out.push(`- Not measured: ${r.name} (${r.note ?? r.verdict}).`);
  out.push('', `${judged.filter((r) => r.verdict === 'pass').length} of ${judged.length} targets met in this run.`);
  out.push('', 'What profiling found behind each missed target, and what was changed: [README.md](README.md#what-profiling-found-and-what-changed).');
  out.push('', '## How each figure was measured', '');
  for (const r of rows) if (r.note) out.push(`- **${esc(r.name)}**: ${r.note}`);
  out.push('');
  return out.join('\n');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const selected = ALL.filter((b) => !opts.only || opts.only.has(b.id));
  const facts = machineFacts();
  console.log(`Open Kitchen benchmarks (${opts.quick ? 'quick' : 'full'}) on ${facts['CPU']} × ${facts['Cores']}, Node ${facts['Node']}`);
  const started = Date.now();
  // dist/ as it ships: activation measures dist/extension.js and provisioning runs
  // dist/organizer.js and dist/stack.js, so build them from these sources (a fresh clone has no
  // dist/, and test harnesses may have left a differently built one).
  console.log('building dist/ with scripts/build.mjs');
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.mjs')], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const rows: Row[] = [];
  for (const bench of selected) {
    const cleanups: (() => Promise<void> | void)[] = [];
    const ctx: BenchContext = {
      quick: opts.quick,
      repeats: opts.quick ? 5 : 7,
      log: (line) => console.log(`  [${bench.id}] ${line}`),
      tempDir: (prefix) => {
        const dir = makeTempDir(prefix);
        cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
        return dir;
      },
      defer: (fn) => cleanups.push(fn),
    };
    console.log(`\n▶ ${bench.title}`);
    const t0 = Date.now();
    try {
      const got = await bench.run(ctx);
      rows.push(...got);
      for (const r of got) console.log(`  ${r.verdict.padEnd(7)} ${r.name}: ${r.median}${r.spread ? ` [${r.spread}]` : ''}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`  ${bench.id} failed: ${err instanceof Error ? err.stack : message}`);
      rows.push({ name: `${bench.title}`, median: '—', spread: '', target: '', verdict: 'error', note: `the benchmark failed: ${message.split('\n')[0]}` });
    } finally {
      for (const fn of cleanups.reverse()) {
        try {
          await fn();
        } catch (err) {
          console.error(`  cleanup of ${bench.id} failed: ${(err as Error).message}`);
        }
      }
    }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  const durationS = (Date.now() - started) / 1000;
  console.log('\n' + table(rows));
  fs.writeFileSync(opts.out, markdown(rows, facts, opts, durationS));
  console.log(`\nwrote ${path.relative(process.cwd(), opts.out)} (${durationS.toFixed(0)} s)`);
}

main().then(
  // Benchmarks leave nothing running; exit anyway so a stray keep-alive socket cannot hang the run.
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
