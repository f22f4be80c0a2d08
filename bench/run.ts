// iommu-emu benchmarks (benchmark.js). `npm run bench [-- --json] [-- --quick]`; see bench/README.md.
//
// Every row is measured together with its bare typed-array baseline, in the same process and run;
// ratio = model / baseline. Absolute numbers on shared machines swing 2-4x: compare ratios.
//
// Each row runs in a child process of its own (this script with --row N), which builds only that
// row's machine: the JIT then compiles the model for that row's mode alone, as in a program that
// uses one mode, and no row's type feedback or garbage shapes another's figures.
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { bareConfig, bareTlbHit, bareWalk } from './baselines.ts';
import { BATCH, RAM_BASE, REQ_STRIDE, buildBenchMachine, type BenchMachine } from './machine.ts';
import { configBatch, translateBatch } from './smmuv3-cases.ts';

const USAGE = `usage: npm run bench -- [--json] [--quick] [--filter TEXT]
  --json         print one JSON array of {name, opsPerSec, baselineOpsPerSec, ratio} on stdout, nothing else
  --quick        short sampling (a few seconds in all)
  --filter TEXT  only the rows whose name contains TEXT
  -h, --help     this text
(--row N is internal: how the run measures row N in a child process of its own)`;

interface Args {
  json: boolean;
  quick: boolean;
  filter: string;
  /** Internal: run row N in this process and print its result as JSON (see main). */
  row: number;
}

function parse(argv: string[]): Args {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        filter: { type: 'string', default: '' },
        row: { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    const row = values.row === '' ? -1 : Number(values.row);
    if (!Number.isInteger(row) || row < -1 || row >= ROWS.length)
      throw new Error(`--row: no row ${values.row}`);
    return { json: values.json, quick: values.quick, filter: values.filter, row };
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')} (try --help)\n`);
    process.exit(2);
  }
}

/** What a row measures: a model loop and its baseline, both doing BATCH translations per call. */
interface Loops {
  model: () => number;
  baseline: () => number;
  /** What both loops return per batch when correct. */
  expect: number;
  /** Called before timing the model, and after: returns a problem with the measurement (e.g. TLB misses), or ''. */
  before?: () => void;
  after?: () => string;
}

/** One row: its name, its target, and how to build its machine and loops (in the row's own process). */
interface Row {
  name: string;
  /** Target (a goal, not a test): minimum ratio and minimum translations/s. */
  minRatio: number;
  minOps: number;
  build: () => Loops;
}

interface Result {
  name: string;
  opsPerSec: number;
  baselineOpsPerSec: number;
  ratio: number;
  rme: number;
  baselineRme: number;
  note: string;
}

/** Checks every request once through the model against the expected PA; throws on a mismatch. */
function verifyTranslations(m: BenchMachine, what: string): void {
  const { smmu, req, pa } = m;
  for (let r = 0; r < BATCH; r++) {
    const o = r * REQ_STRIDE;
    const st = smmu.translate(req[o]!, req[o + 1]!, req[o + 2]!, req[o + 3]!, req[o + 4]!);
    if (st !== 0 || smmu.res.pa !== pa[r]) {
      const iova = req[o + 2]! * 4294967296 + req[o + 3]!;
      throw new Error(
        `${what}: sid 0x${req[o]!.toString(16)} ssid 0x${req[o + 1]!.toString(16)} iova 0x${iova.toString(16)}: ` +
          `status ${st} event 0x${smmu.res.event.toString(16)} pa 0x${smmu.res.pa.toString(16)}, expected 0x${pa[r]!.toString(16)}`,
      );
    }
  }
}

const ROWS: Row[] = [
  {
    // (a) Walk mode: every translation reads the configuration and the page tables from memory.
    name: 'smmuv3 full walk (2-level STE, 2-level CD, 4-level 4K S1; caching off)',
    minRatio: 0.5,
    minOps: 10e6,
    build: () => {
      const walk = buildBenchMachine(false);
      verifyTranslations(walk, 'walk mode');
      const { ram, req, smmu } = walk;
      const strtab = walk.drv.strtab;
      return {
        model: () => translateBatch(smmu, req, BATCH),
        baseline: () => bareWalk(ram, RAM_BASE, strtab, req, BATCH),
        expect: walk.paSum,
      };
    },
  },
  {
    // (b) Caching mode, warmed so that every request hits the configuration cache and the TLB.
    name: 'smmuv3 tlb hit (config cache + TLB hit; caching on, warm)',
    minRatio: 0,
    minOps: 40e6,
    build: () => {
      const cached = buildBenchMachine(true);
      verifyTranslations(cached, 'caching mode (fill)');
      verifyTranslations(cached, 'caching mode (hit)');
      const { req, smmu } = cached;
      const tlb = smmu.tlb;
      const cc = smmu.cc;
      let tlbMiss0 = 0,
        ccMiss0 = 0;
      return {
        model: () => translateBatch(smmu, req, BATCH),
        baseline: () => bareTlbHit(cc.ci, cc.sets, cc.ways, tlb.e, tlb.sets, tlb.ways, req, BATCH),
        expect: cached.paSum,
        before: () => {
          tlbMiss0 = tlb.misses;
          ccMiss0 = cc.misses;
        },
        after: () => {
          const t = tlb.misses - tlbMiss0,
            c = cc.misses - ccMiss0;
          return t || c ? `not all hits while timed: ${t} TLB and ${c} config-cache misses` : '';
        },
      };
    },
  },
  {
    // (c) Walk mode, the configuration lookup alone (loadConfig: what translate does before the walk).
    name: 'smmuv3 ssid lookup (loadConfig: L1STD, STE, L1CD, CD)',
    minRatio: 0,
    minOps: 20e6,
    build: () => {
      const cfg = buildBenchMachine(false);
      verifyTranslations(cfg, 'walk mode');
      const { ram, req, smmu } = cfg;
      const strtab = cfg.drv.strtab;
      return {
        model: () => configBatch(smmu, req, BATCH),
        baseline: () => bareConfig(ram, RAM_BASE, strtab, req, BATCH),
        expect: cfg.ttb0Sum,
      };
    },
  },
];

/** Wraps a batch loop so that every call is checked (the result is consumed, a wrong one aborts). */
function checked(name: string, fn: () => number, expect: number): () => void {
  return () => {
    const s = fn();
    if (s !== expect) throw new Error(`${name}: batch returned ${s}, expected ${expect}`);
  };
}

/**
 * Time one loop with benchmark.js. The full run does ROUNDS rounds (alternating with the other
 * side of the row, see main) and keeps the fastest: on shared machines a neighbour's burst only
 * ever slows a round down.
 */
function measure(name: string, fn: () => void, quick: boolean): { hz: number; rme: number } {
  const opts: Benchmark.Options = quick ? { maxTime: 0.25, minSamples: 5, minTime: 0.025 } : { maxTime: 2.5 };
  const b = new Benchmark(name, fn, opts);
  b.run({ async: false });
  if (b.error) throw b.error;
  return { hz: b.hz * BATCH, rme: b.stats.rme };
}

const ROUNDS = 2;

function best(
  a: { hz: number; rme: number } | undefined,
  b: { hz: number; rme: number },
): { hz: number; rme: number } {
  return a === undefined || b.hz > a.hz ? b : a;
}

function fmtOps(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(1)} k/s`;
}

function targetText(r: Row): string {
  const parts: string[] = [];
  if (r.minRatio > 0) parts.push(`ratio >= ${r.minRatio.toFixed(2)}`);
  parts.push(`>= ${r.minOps / 1e6} M/s`);
  return parts.join(', ');
}

function rowOf(res: Result): Row {
  return ROWS.find((r) => r.name === res.name)!;
}

function met(res: Result): boolean {
  const row = rowOf(res);
  return res.ratio >= row.minRatio && res.opsPerSec >= row.minOps;
}

function printTable(results: Result[], quick: boolean): void {
  const head = ['benchmark', 'model', '±', 'bare loop', '±', 'ratio', 'target', ''];
  const body = results.map((r) => [
    r.name,
    fmtOps(r.opsPerSec),
    `${r.rme.toFixed(1)}%`,
    fmtOps(r.baselineOpsPerSec),
    `${r.baselineRme.toFixed(1)}%`,
    r.ratio.toFixed(3),
    targetText(rowOf(r)),
    met(r) ? 'met' : 'MISSED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `iommu-emu benchmarks: translations/s (${BATCH} per benchmark op), Node ${process.version}, benchmark.js ${Benchmark.version}${quick ? ', --quick' : ''}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  for (const r of results) if (r.note) out.push(`note: ${r.name}: ${r.note}`);
  out.push(
    '',
    'ratio = model / bare typed-array loop doing the same reads, measured in this run (bench/README.md).',
  );
  process.stdout.write(out.join('\n') + '\n');
}

/** Child process (--row N): builds row N's machine, measures it, prints its Result as JSON on stdout. */
function runRow(index: number, quick: boolean): void {
  const row = ROWS[index]!;
  let loops: Loops;
  try {
    loops = row.build();
  } catch (e) {
    process.stderr.write(`bench: ${row.name}: set-up failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    const baseFn = checked(`${row.name} [bare loop]`, loops.baseline, loops.expect);
    const modelFn = checked(row.name, loops.model, loops.expect);
    let base: { hz: number; rme: number } | undefined;
    let model: { hz: number; rme: number } | undefined;
    loops.before?.();
    for (let round = 0; round < (quick ? 1 : ROUNDS); round++) {
      base = best(base, measure(`${row.name} [bare loop]`, baseFn, quick));
      model = best(model, measure(row.name, modelFn, quick));
    }
    if (base === undefined || model === undefined) throw new Error('nothing measured');
    const result: Result = {
      name: row.name,
      opsPerSec: model.hz,
      baselineOpsPerSec: base.hz,
      ratio: model.hz / base.hz,
      rme: model.rme,
      baselineRme: base.rme,
      note: loops.after?.() ?? '',
    };
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (e) {
    process.stderr.write(`bench: ${row.name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

function main(): void {
  const args = parse(process.argv.slice(2));
  if (args.row >= 0) return runRow(args.row, args.quick);
  const progress = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  const results: Result[] = [];
  for (let i = 0; i < ROWS.length; i++) {
    const row = ROWS[i]!;
    if (args.filter && !row.name.includes(args.filter)) continue;
    progress(`${row.name} ...`);
    // The same Node, loader flags (tsx) and script, one row per process; its errors go to our stderr.
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, process.argv[1]!, '--row', String(i), ...(args.quick ? ['--quick'] : [])],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) {
      progress('\n');
      if (child.error) process.stderr.write(`bench: ${row.name}: ${child.error.message}\n`);
      process.exit(1);
    }
    const result = JSON.parse(child.stdout) as Result;
    results.push(result);
    progress(` ${fmtOps(result.opsPerSec)} (bare ${fmtOps(result.baselineOpsPerSec)})\n`);
    if (result.note && args.json) process.stderr.write(`bench: ${row.name}: ${result.note}\n`);
  }
  if (args.json) {
    const out = results.map((r) => ({
      name: r.name,
      opsPerSec: r.opsPerSec,
      baselineOpsPerSec: r.baselineOpsPerSec,
      ratio: r.ratio,
    }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    printTable(results, args.quick);
  }
}

main();
