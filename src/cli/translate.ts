// iommu-emu translate: DMA through a loaded image, one request or a batch (JSON lines).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { wordsToQwords } from '../layout/layout.ts';
import { ImageError, loadSmmuImage } from '../image/image.ts';
import { EVT_BY_ID } from '../smmuv3/events.ts';
import { ACC_U, ACC_W, ACC_X, SMMUv3, ST_OK, ST_STALL } from '../smmuv3/smmuv3.ts';
import { CliError, parseU64 } from './errors.ts';

export interface TranslateRequest {
  sid: number;
  ssid: number; // -1: none
  iova: bigint;
  access: 'read' | 'write' | 'exec';
  unpriv: boolean;
}

export type TranslateResult =
  | { ok: true; pa: string; perm: string }
  | { ok: false; abort: true }
  | {
      ok: false;
      stalled?: true;
      stag?: number;
      razwi?: true;
      event: { type: string; id: number; recorded?: false; record: string[] };
    };

export function accFlags(access: string, unpriv: boolean): number {
  return (access === 'write' ? ACC_W : access === 'exec' ? ACC_X : 0) | (unpriv ? ACC_U : 0);
}

/** Runs one request through the model and describes the outcome as the CLI prints it. */
export function runRequest(smmu: SMMUv3, q: TranslateRequest): TranslateResult {
  const hi = Number(q.iova >> 32n);
  const lo = Number(q.iova & 0xffff_ffffn);
  const st = smmu.translate(q.sid, q.ssid, hi, lo, accFlags(q.access, q.unpriv));
  const res = smmu.res;
  if (st === ST_OK)
    return { ok: true, pa: `0x${res.pa.toString(16)}`, perm: SMMUv3.permString(res.perm, q.unpriv) };
  if (res.event === 0) return { ok: false, abort: true };
  const rec = wordsToQwords(smmu.evt).map((v) => `0x${v.toString(16).padStart(16, '0')}`);
  const event: { type: string; id: number; recorded?: false; record: string[] } = {
    type: EVT_BY_ID[res.event]?.name ?? `0x${res.event.toString(16)}`,
    id: res.event,
    record: rec,
  };
  if (!res.recorded) event.recorded = false;
  if (st === ST_STALL) return { ok: false, stalled: true, stag: res.stag, event };
  return { ok: false, event };
}

function num(v: unknown, what: string, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) b = BigInt(v);
  else if (typeof v === 'string') b = parseU64(v, what);
  else throw new CliError(`${what}: expected a number or a hex string, got ${JSON.stringify(v)}`);
  if (b > max) throw new CliError(`${what}: ${v} is out of range (max 0x${max.toString(16)})`);
  return b;
}

function access(v: unknown, what: string): 'read' | 'write' | 'exec' {
  if (v === undefined) return 'read';
  if (v === 'read' || v === 'write' || v === 'exec') return v;
  throw new CliError(`${what}: access must be read, write or exec, got ${JSON.stringify(v)}`);
}

export function parseBatchLine(line: string, where: string): TranslateRequest {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new CliError(`${where}: not valid JSON`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new CliError(`${where}: expected a JSON object`);
  if (o.sid === undefined) throw new CliError(`${where}: "sid" is missing`);
  if (o.iova === undefined) throw new CliError(`${where}: "iova" is missing`);
  return {
    sid: Number(num(o.sid, `${where}: sid`, 0xffff_ffffn)),
    ssid: o.ssid === undefined || o.ssid === null ? -1 : Number(num(o.ssid, `${where}: ssid`, 0xf_ffffn)),
    iova: num(o.iova, `${where}: iova`, (1n << 64n) - 1n),
    access: access(o.access, where),
    unpriv: o.unpriv === true,
  };
}

function load(dir: string, caching: boolean): SMMUv3 {
  try {
    return loadSmmuImage(dir, { caching }).smmu;
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(e.message);
    throw e;
  }
}

export async function translateCmd(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      image: { type: 'string' },
      sid: { type: 'string' },
      ssid: { type: 'string' },
      iova: { type: 'string' },
      access: { type: 'string' },
      unpriv: { type: 'boolean' },
      json: { type: 'boolean' },
      batch: { type: 'string' },
      caching: { type: 'boolean' },
    },
    allowPositionals: false,
  });
  if (!values.image) throw new CliError('translate: --image DIR is required');
  if (values.batch !== undefined) {
    if (values.sid !== undefined || values.iova !== undefined)
      throw new CliError('translate: --batch cannot be combined with --sid/--iova');
    let text: string;
    try {
      text = readFileSync(values.batch === '-' ? 0 : values.batch, 'utf8');
    } catch {
      throw new CliError(`translate: cannot read batch file ${values.batch}`);
    }
    const lines = text.split('\n');
    const reqs: TranslateRequest[] = [];
    lines.forEach((l, i) => {
      if (l.trim() !== '') reqs.push(parseBatchLine(l, `${values.batch}:${i + 1}`));
    });
    const smmu = load(values.image, values.caching ?? false);
    // Each request sees the image as loaded: the register state (queue pointers, GERROR) is
    // restored after each one, so a result never depends on the requests before it. (Memory the
    // SMMU wrote, such as event records, stays; on a Linux image nothing else is written.)
    const saved = smmu.r.slice();
    const out: string[] = [];
    for (const q of reqs) {
      out.push(JSON.stringify(runRequest(smmu, q)));
      smmu.r.set(saved);
      smmu.stalls.length = 0;
    }
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    return 0;
  }
  if (values.sid === undefined) throw new CliError('translate: --sid N is required (or --batch FILE)');
  if (values.iova === undefined) throw new CliError('translate: --iova X is required');
  const q: TranslateRequest = {
    sid: Number(num(values.sid, '--sid', 0xffff_ffffn)),
    ssid: values.ssid === undefined ? -1 : Number(num(values.ssid, '--ssid', 0xf_ffffn)),
    iova: num(values.iova, '--iova', (1n << 64n) - 1n),
    access: access(values.access, '--access'),
    unpriv: values.unpriv ?? false,
  };
  const smmu = load(values.image, values.caching ?? false);
  const r = runRequest(smmu, q);
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else if (r.ok) process.stdout.write(`ok  pa=${r.pa}  perm=${r.perm}\n`);
  else if ('abort' in r) process.stdout.write('abort (STE.Config = abort or GBPA.ABORT: no event)\n');
  else {
    process.stdout.write(
      `fault  ${r.event.type} (0x${r.event.id.toString(16)})${r.event.recorded === false ? '  [not recorded]' : ''}${r.stalled ? `  stalled stag=${r.stag}` : ''}\n`,
    );
    process.stdout.write(`record ${r.event.record.join(' ')}\n`);
  }
  return 0;
}
