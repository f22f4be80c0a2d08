// iommu-emu benchmarks (benchmark.js). `npm run bench [-- --json] [-- --quick]`; see bench/README.md.
//
// Every row is measured together with its bare typed-array baseline, in the same process and run;
// ratio = model / baseline. Absolute numbers on shared machines swing 2-4x: compare ratios.
import Benchmark from 'benchmark';
import { parseArgs } from 'node:util';
import { bareConfig, bareTlbHit, bareWalk } from './baselines.ts';
import { BATCH, RAM_BASE, REQ_STRIDE, buildBenchMachine, type BenchMachine } from './machine.ts';
import { configBatch, translateBatch } from './smmuv3-cases.ts';

const USAGE = `usage: npm run bench -- [--json] [--quick] [--filter TEXT]
  --json         print one JSON array of {name, opsPerSec, baselineOpsPerSec, ratio} on stdout, nothing else
  --quick        short sampling (a few seconds in all)
  --filter TEXT  only the rows whose name contains TEXT
  -h, --help     this text`;

interface Args {
  json: boolean;
  quick: boolean;
  filter: string;
}

function parse(argv: string[]): Args {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean', default: false },
        quick: { type: 'boolean', default: false },
        filter: { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    }
    return { json: values.json, quick: values.quick, filter: values.filter };
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')} (try --help)\n`);
    process.exit(2);
  }
}

/** One row: a model loop and its baseline, both doing BATCH translations per call. */
interface Row {
  name: string;
  /** Target (a goal, not a test): minimum ratio and minimum translations/s. */
  minRatio: number;
  minOps: number;
  model: () => number;
  baseline: () => number;
  /** What both loops return per batch when correct. */
  expect: number;
  /** Called before timing the model, and after: returns a problem with the measurement (e.g. TLB misses), or ''. */
  before?: () => void;
  after?: () => string;
}

interface Result {
  name: string;
  opsPerSec: number;
  baselineOpsPerSec: number;
  ratio: number;
  rme: number;
  baselineRme: number;
  row: Row;
  note: string;
}

function strtabOf(m: BenchMachine): number {
  return m.drv.strtab;
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

function buildRows(): Row[] {
  // (a): walk mode. (b): caching mode, warmed so that every request hits. (c): walk mode, a model
  // that only ever runs the configuration lookup (see configBatch).
  const walk = buildBenchMachine(false);
  const cached = buildBenchMachine(true);
  const cfg = buildBenchMachine(false);
  verifyTranslations(walk, 'walk mode');
  verifyTranslations(cached, 'caching mode (fill)');
  verifyTranslations(cached, 'caching mode (hit)');
  const tlb = cached.smmu.tlb;
  const cc = cached.smmu.cc;

  const wRam = walk.ram, wReq = walk.req, wSmmu = walk.smmu, wStrtab = strtabOf(walk);
  const cReq = cached.req, cSmmu = cached.smmu;
  const gRam = cfg.ram, gReq = cfg.req, gSmmu = cfg.smmu, gStrtab = strtabOf(cfg);
  let tlbMiss0 = 0, ccMiss0 = 0;
  return [
    {
      name: 'smmuv3 full walk (2-level STE, 2-level CD, 4-level 4K S1; caching off)',
      minRatio: 0.5,
      minOps: 10e6,
      model: () => translateBatch(wSmmu, wReq, BATCH),
      baseline: () => bareWalk(wRam, RAM_BASE, wStrtab, wReq, BATCH),
      expect: walk.paSum,
    },
    {
      name: 'smmuv3 tlb hit (config cache + TLB hit; caching on, warm)',
      minRatio: 0,
      minOps: 40e6,
      model: () => translateBatch(cSmmu, cReq, BATCH),
      baseline: () => bareTlbHit(cc.ci, cc.sets, cc.ways, tlb.e, tlb.sets, tlb.ways, cReq, BATCH),
      expect: cached.paSum,
      before: () => {
        tlbMiss0 = tlb.misses;
        ccMiss0 = cc.misses;
      },
      after: () => {
        const t = tlb.misses - tlbMiss0, c = cc.misses - ccMiss0;
        return t || c ? `not all hits while timed: ${t} TLB and ${c} config-cache misses` : '';
      },
    },
    {
      name: 'smmuv3 ssid lookup (loadConfig: L1STD, STE, L1CD, CD)',
      minRatio: 0,
      minOps: 20e6,
      model: () => configBatch(gSmmu, gReq, BATCH),
      baseline: () => bareConfig(gRam, RAM_BASE, gStrtab, gReq, BATCH),
      expect: cfg.ttb0Sum,
    },
  ];
}

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

function best(a: { hz: number; rme: number } | undefined, b: { hz: number; rme: number }): { hz: number; rme: number } {
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

function met(res: Result): boolean {
  return res.ratio >= res.row.minRatio && res.opsPerSec >= res.row.minOps;
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
    targetText(r.row),
    met(r) ? 'met' : 'MISSED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5]);
  const line = (cells: string[]) => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [
    `iommu-emu benchmarks: translations/s (${BATCH} per benchmark op), Node ${process.version}, benchmark.js ${Benchmark.version}${quick ? ', --quick' : ''}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  for (const r of results) if (r.note) out.push(`note: ${r.name}: ${r.note}`);
  out.push('', 'ratio = model / bare typed-array loop doing the same reads, measured in this run (bench/README.md).');
  process.stdout.write(out.join('\n') + '\n');
}

function main(): void {
  const args = parse(process.argv.slice(2));
  const progress = (s: string) => {
    if (!args.json) process.stderr.write(s);
  };
  let rows: Row[];
  try {
    rows = buildRows();
  } catch (e) {
    process.stderr.write(`bench: set-up failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
  if (args.filter) rows = rows.filter((r) => r.name.includes(args.filter));
  const results: Result[] = [];
  for (const row of rows) {
    progress(`${row.name} ...`);
    try {
      const baseFn = checked(`${row.name} [bare loop]`, row.baseline, row.expect);
      const modelFn = checked(row.name, row.model, row.expect);
      let base: { hz: number; rme: number } | undefined;
      let model: { hz: number; rme: number } | undefined;
      row.before?.();
      for (let round = 0; round < (args.quick ? 1 : ROUNDS); round++) {
        base = best(base, measure(`${row.name} [bare loop]`, baseFn, args.quick));
        model = best(model, measure(row.name, modelFn, args.quick));
      }
      if (base === undefined || model === undefined) throw new Error('nothing measured');
      const note = row.after?.() ?? '';
      results.push({
        name: row.name,
        opsPerSec: model.hz,
        baselineOpsPerSec: base.hz,
        ratio: model.hz / base.hz,
        rme: model.rme,
        baselineRme: base.rme,
        row,
        note,
      });
      progress(` ${fmtOps(model.hz)} (bare ${fmtOps(base.hz)})\n`);
      if (note && args.json) process.stderr.write(`bench: ${row.name}: ${note}\n`);
    } catch (e) {
      progress('\n');
      process.stderr.write(`bench: ${row.name}: ${(e as Error).message}\n`);
      process.exit(1);
    }
  }
  if (args.json) {
    const out = results.map((r) => ({ name: r.name, opsPerSec: r.opsPerSec, baselineOpsPerSec: r.baselineOpsPerSec, ratio: r.ratio }));
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    printTable(results, args.quick);
  }
}

main();
