// iommu-emu benchmarks (benchmark.js). `npm run bench [-- --json] [-- --quick]`; see bench/README.md.
//
// Every row measures the model and two bare typed-array loops over the same requests, in the same
// process: the serial chain and the loop built with the model's own shortcuts ("like-built"). They
// run in interleaved short rounds (model, serial, like-built, then the next round in rotated
// order), each side one benchmark.js Benchmark with a short maxTime, timed by the process's CPU
// time (process.cpuUsage: steadier than wall time on a loaded machine). A row's ratio is the
// median over rounds of the per-round ratio.
//
// Each row runs in a child process of its own (this script with --row N), which builds only that
// row's machine: the JIT then compiles the model for that row's mode alone, as in a program that
// uses one mode, and no row's type feedback or garbage shapes another's figures.
import Benchmark from 'benchmark';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ROWS, type BatchFn, type Loops, type MemoryFigure, type Row } from './registry.ts';

const USAGE = `usage: npm run bench -- [--json] [--quick] [--filter TEXT] [--rounds N]
  --json         print one JSON array of row results on stdout (bench/README.md), nothing else
  --quick        fewer, shorter rounds (about a minute in all)
  --filter TEXT  only the rows whose name contains TEXT
  --rounds N     interleaved rounds per row (default 9; 3 with --quick)
  -h, --help     this text
(--row N is internal: how the run measures row N in a child process of its own)`;

interface Args {
  json: boolean;
  quick: boolean;
  filter: string;
  rounds: number;
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
        rounds: { type: 'string', default: '' },
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
    if (!/^\d*$/.test(values.row) || !Number.isInteger(row) || row < -1 || row >= ROWS.length)
      throw new Error(`--row: no row ${values.row}`);
    const rounds = values.rounds === '' ? (values.quick ? 3 : 9) : Number(values.rounds);
    if (!/^\d*$/.test(values.rounds) || !Number.isInteger(rounds) || rounds < 1 || rounds > 99)
      throw new Error(`--rounds: want a whole number from 1 to 99, not ${values.rounds}`);
    return { json: values.json, quick: values.quick, filter: values.filter, rounds, row };
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')} (try --help)\n`);
    process.exit(2);
  }
}

/** One row's result (the JSON form; bench/README.md documents the fields). */
interface Result {
  /** The architecture the row measures (src/arch/registry.ts). */
  iommu: string;
  name: string;
  /** Translations (or lookups) per CPU second, medians over the rounds. */
  opsPerSec: number;
  serialOpsPerSec: number | null;
  baselineOpsPerSec: number;
  /** Medians over the rounds of model / serial chain and model / like-built loop; the target applies to `ratio`. */
  serialRatio: number | null;
  ratio: number;
  /** Lowest and highest per-round like-built ratio. */
  ratioMin: number;
  ratioMax: number;
  rounds: number;
  target: number;
  met: boolean;
  note: string;
  /** Walk and SSID rows: the model's decode memo after the row (STE entries/CD entries). */
  memo?: string;
  memory?: MemoryFigure & { emulatedBytesPerSsid: number; modelBytesPerSsid: number };
}

/**
 * One side of a row: its batch loop walked window by window round the request list (`reps` windows
 * per benchmark op), every batch checked. The CPU time of the batches themselves is summed in `cpu`
 * (microseconds): benchmark.js's own work between cycles (it compiles a new test function for
 * every cycle) is not the loop's.
 */
class Side {
  calls = 0;
  cpu = 0;
  private win = 0;
  readonly fn: () => void;
  constructor(
    readonly name: string,
    batch: BatchFn,
    l: Loops,
  ) {
    const nwin = l.n / l.window;
    const w = l.window;
    const sums = l.sums;
    const reps = l.reps ?? 1;
    this.fn = () => {
      const t0 = process.cpuUsage();
      for (let k = 0; k < reps; k++) {
        const i = this.win;
        const s = batch(i * w, w);
        if (s !== sums[i]) throw new Error(`${name}: batch ${i} returned ${s}, expected ${sums[i]}`);
        this.win = i + 1 === nwin ? 0 : i + 1;
      }
      const t = process.cpuUsage(t0);
      this.cpu += t.user + t.system;
      this.calls += reps;
    };
  }
}

/** Times one side for one round with benchmark.js; returns operations per CPU second of its batches. */
function measure(side: Side, window: number, quick: boolean): number {
  const opts: Benchmark.Options = quick
    ? { maxTime: 0.1, minSamples: 5, minTime: 0.01 }
    : { maxTime: 0.3, minSamples: 5, minTime: 0.02 };
  const b = new Benchmark(side.name, side.fn, opts);
  const calls0 = side.calls;
  const cpu0 = side.cpu;
  b.run({ async: false });
  if (b.error) throw b.error;
  return ((side.calls - calls0) * window) / ((side.cpu - cpu0) / 1e6);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function fmtOps(v: number | null): string {
  if (v === null) return '-';
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(1)} k/s`;
}

function printTable(results: Result[], quick: boolean, rounds: number): void {
  const head = [
    'benchmark',
    'memo',
    'model',
    'serial bare',
    'like-built bare',
    'vs serial',
    'vs like-built',
    'range',
    'target',
  ];
  const body = results.map((r) => [
    r.name,
    r.memo ?? '-',
    fmtOps(r.opsPerSec),
    fmtOps(r.serialOpsPerSec),
    fmtOps(r.baselineOpsPerSec),
    r.serialRatio === null ? '-' : r.serialRatio.toFixed(2),
    r.ratio.toFixed(2),
    `${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}`,
    `>= ${r.target.toFixed(2)} ${r.met ? 'met' : 'MISSED'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([1, 2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `iommu-emu benchmarks: translations per CPU second, median of ${rounds} interleaved rounds, ` +
      `Node ${process.version}, benchmark.js ${Benchmark.version}${quick ? ', --quick' : ''}`,
    '',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ];
  for (const r of results) {
    if (r.note) out.push(`note: ${r.name}: ${r.note}`);
    if (r.memory) out.push(`memory per bound SSID (${r.name}): ${memoryText(r.memory)}`);
  }
  out.push(
    '',
    'ratios = model / bare loop, per round, median over rounds; the target applies to the like-built',
    'loop (the same reads with the model’s decode memo). memo = the model’s decode memo after the row,',
    'STE entries/CD entries. bench/README.md says how each loop is built.',
  );
  process.stdout.write(out.join('\n') + '\n');
}

function memoryText(m: NonNullable<Result['memory']>): string {
  return (
    `${m.emulatedBytesPerSsid.toFixed(1)} bytes of emulated memory (CD tables) + ` +
    `${m.modelBytesPerSsid.toFixed(1)} bytes of model memory (${(m.modelBytes / 2 ** 20).toFixed(1)} MiB in all, ` +
    `${m.ssids} SSIDs)`
  );
}

/** Child process (--row N): builds row N's machine, measures it, prints its Result as JSON on stdout. */
function runRow(index: number, quick: boolean, rounds: number): void {
  const row: Row = ROWS[index]!;
  let loops: Loops;
  try {
    loops = row.build();
  } catch (e) {
    process.stderr.write(`bench: ${row.name}: set-up failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
  try {
    const l = loops;
    const sides = [
      new Side(row.name, l.model, l),
      ...(l.serial ? [new Side(`${row.name} [serial bare]`, l.serial, l)] : []),
      new Side(`${row.name} [like-built bare]`, l.like, l),
    ];
    // Every side once over the request list first (at most 16 windows): checks them, warms the memos.
    for (const s of sides) for (let i = 0; i < Math.min(l.n / l.window, 16); i++) s.fn();
    l.before?.();
    const hz: number[][] = sides.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < sides.length; k++) {
        const i = (k + r) % sides.length; // rotated order: no side always runs first
        hz[i]!.push(measure(sides[i]!, l.window, quick));
      }
    }
    const model = hz[0]!;
    const like = hz[sides.length - 1]!;
    const serial = l.serial ? hz[1]! : null;
    const likeRatios = model.map((v, i) => v / like[i]!);
    const ratio = median(likeRatios);
    const result: Result = {
      iommu: ROWS[index]!.iommu,
      name: row.name,
      opsPerSec: median(model),
      serialOpsPerSec: serial ? median(serial) : null,
      baselineOpsPerSec: median(like),
      serialRatio: serial ? median(model.map((v, i) => v / serial[i]!)) : null,
      ratio,
      ratioMin: Math.min(...likeRatios),
      ratioMax: Math.max(...likeRatios),
      rounds,
      target: row.minRatio,
      met: ratio >= row.minRatio,
      note: l.after?.() ?? '',
    };
    const memo = l.memo?.();
    if (memo) result.memo = memo;
    const mem = l.memory?.();
    if (mem)
      result.memory = {
        ...mem,
        emulatedBytesPerSsid: mem.emulatedBytes / mem.ssids,
        modelBytesPerSsid: mem.modelBytes / mem.ssids,
      };
    process.stdout.write(JSON.stringify(result) + '\n');
  } catch (e) {
    process.stderr.write(`bench: ${row.name}: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

function main(): void {
  const args = parse(process.argv.slice(2));
  if (args.row >= 0) return runRow(args.row, args.quick, args.rounds);
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
      [
        ...process.execArgv,
        process.argv[1]!,
        '--row',
        String(i),
        '--rounds',
        String(args.rounds),
        ...(args.quick ? ['--quick'] : []),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) {
      progress('\n');
      if (child.error) process.stderr.write(`bench: ${row.name}: ${child.error.message}\n`);
      process.exit(1);
    }
    const result = JSON.parse(child.stdout) as Result;
    results.push(result);
    progress(` ${fmtOps(result.opsPerSec)}, ratio ${result.ratio.toFixed(2)}\n`);
    if (result.note && args.json) process.stderr.write(`bench: ${row.name}: ${result.note}\n`);
  }
  if (args.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  else printTable(results, args.quick, args.rounds);
}

main();
