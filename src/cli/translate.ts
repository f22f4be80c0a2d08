// iommu-emu translate: DMA through a loaded image, one request or a batch (JSON lines), and
// `--explain`: the walk as a person reads it (src/cli/explain.ts).
import { readFileSync } from 'node:fs';
import { ImageError, loadSmmuImage } from '../image/image.ts';
import type { SMMUv3 } from '../smmuv3/smmuv3.ts';
import { SMMUV3_ARCH } from '../arch/smmuv3.ts';
import type { Access, Outcome } from '../arch/arch.ts';
import { parseOptions } from './args.ts';
import {
  CliError,
  didYouMean,
  jsonUnsigned,
  parseUnsigned,
  quote,
  quoteJson,
  U32_MAX,
  U64_MAX,
} from './errors.ts';
import { explainRequest, explainText } from './explain.ts';
import type { Command } from './io.ts';

export type { Access, FaultJson as EventJson, Outcome } from '../arch/arch.ts';

/**
 * One transaction. Domains (checked before the model sees them): StreamID and SubstreamID are
 * integers in [0, 2^32 - 1] (the model answers C_BAD_STREAMID / C_BAD_SUBSTREAMID beyond what the
 * SMMU implements), the input address an integer in [0, 2^64 - 1].
 */
export interface TranslateRequest {
  sid: number;
  /** -1: no SubstreamID. */
  ssid: number;
  iova: bigint;
  access: Access;
  unpriv: boolean;
}

/** The request as the output echoes it (sid/ssid numbers, the address a "0x..." string). */
export interface RequestJson {
  sid: number;
  ssid: number | null;
  iova: string;
  access: Access;
  unpriv: boolean;
}

export type TranslateResult = { request: RequestJson } & Outcome;

export function requestJson(q: TranslateRequest): RequestJson {
  return {
    sid: q.sid,
    ssid: q.ssid < 0 ? null : q.ssid,
    iova: `0x${q.iova.toString(16)}`,
    access: q.access,
    unpriv: q.unpriv,
  };
}

/**
 * Runs one request through the model, through the architecture registry's adapter (StreamID and
 * SubstreamID are the SMMUv3's request ids), and describes the outcome as the CLI prints it.
 */
export function runRequest(smmu: SMMUv3, q: TranslateRequest): Outcome {
  return SMMUV3_ARCH.runRequest(smmu, {
    id: q.sid,
    sub: q.ssid,
    addr: q.iova,
    access: q.access,
    unpriv: q.unpriv,
  });
}

/** The one-line text form of an outcome. */
export function outcomeText(r: Outcome): string {
  if (r.ok) return `ok  pa=${r.pa}  perm=${r.perm}`;
  if ('abort' in r) return 'abort (STE.Config = abort or GBPA.ABORT: no event)';
  const flags =
    (r.event.recorded === false ? '  [not recorded]' : '') +
    (r.stalled ? `  stalled stag=${r.stag}` : '') +
    (r.razwi ? '  RAZ/WI' : '');
  return `fault  ${r.event.type} (0x${r.event.id.toString(16)})${flags}\nrecord ${r.event.record.join(' ')}`;
}

function parseAccess(v: unknown, what: string): Access {
  if (v === undefined) return 'read';
  if (v === 'read' || v === 'write' || v === 'exec') return v;
  const hint = typeof v === 'string' ? didYouMean(v, ['read', 'write', 'exec']) : '';
  throw new CliError(`${what}: access must be read, write or exec, got ${quoteJson(v)}${hint}`);
}

const BATCH_KEYS = ['sid', 'ssid', 'iova', 'access', 'unpriv'] as const;

/** Parses one JSON line of a batch; `where` (`FILE line N`) starts every message. */
export function parseBatchLine(line: string, where: string): TranslateRequest {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new CliError(`${where}: not valid JSON: ${quote(line.trim())}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new CliError(
      `${where}: expected a JSON object like {"sid": 8, "iova": "0x1000"}, got ${quoteJson(o)}`,
    );
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!(BATCH_KEYS as readonly string[]).includes(k))
      throw new CliError(
        `${where}: unknown key ${quoteJson(k)}${didYouMean(k, BATCH_KEYS)} (keys: ${BATCH_KEYS.join(', ')})`,
      );
  }
  if (rec.sid === undefined) throw new CliError(`${where}: "sid" is missing`);
  if (rec.iova === undefined) throw new CliError(`${where}: "iova" is missing`);
  if (rec.unpriv !== undefined && typeof rec.unpriv !== 'boolean')
    throw new CliError(`${where}: "unpriv": expected true or false, got ${quoteJson(rec.unpriv)}`);
  return {
    sid: Number(jsonUnsigned(rec.sid, `${where}: "sid"`, U32_MAX)),
    ssid:
      rec.ssid === undefined || rec.ssid === null
        ? -1
        : Number(jsonUnsigned(rec.ssid, `${where}: "ssid"`, U32_MAX)),
    iova: jsonUnsigned(rec.iova, `${where}: "iova"`, U64_MAX),
    access: parseAccess(rec.access, `${where}: "access"`),
    unpriv: rec.unpriv === true,
  };
}

export function loadImage(dir: string, caching: boolean): SMMUv3 {
  try {
    return loadSmmuImage(dir, { caching }).smmu;
  } catch (e) {
    if (e instanceof ImageError) throw new CliError(e.message);
    throw e;
  }
}

function readBatch(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw new CliError(`translate: cannot read batch file ${quote(file)} (${why})`);
  }
}

export const translateCommand: Command = {
  name: 'translate',
  summary: 'translate a DMA through an image (one request, a batch of JSON lines, or --explain)',
  usage: [
    'iommu-emu translate --image DIR --sid N [--ssid N] --iova X [--access read|write|exec] [--unpriv] [--json] [--explain]',
    'iommu-emu translate --image DIR --batch FILE|-',
  ],
  options: {
    image: { type: 'string', arg: 'DIR', help: 'the image directory (image.json and its memory files)' },
    sid: { type: 'string', arg: 'N', help: 'StreamID, 0 to 0xffffffff (hex 0x... or decimal)' },
    ssid: { type: 'string', arg: 'N', help: 'SubstreamID, 0 to 0xffffffff (default: none)' },
    iova: { type: 'string', arg: 'X', help: 'input address, 0 to 2^64-1' },
    access: { type: 'string', arg: 'KIND', help: 'read (default), write or exec (instruction fetch)' },
    unpriv: { type: 'boolean', help: 'an unprivileged access (default: privileged)' },
    json: { type: 'boolean', help: 'print the result as one JSON line' },
    explain: { type: 'boolean', help: 'show every descriptor read and the rule that decided the outcome' },
    batch: {
      type: 'string',
      arg: 'FILE',
      help: 'one JSON request per line ("-": stdin), one result per line out',
    },
    caching: { type: 'boolean', help: 'the architected caching mode (default: walk on every access)' },
  },
  details: `A request line of --batch: {"sid": 8, "ssid": 1, "iova": "0x1000", "access": "write", "unpriv": false}
(only "sid" and "iova" are required; no other keys). Each output line echoes the request:
  {"request": {"sid":8,"ssid":null,"iova":"0xffe46010","access":"read","unpriv":false}, "ok":true, "pa":"0x447ea010", "perm":"rw"}
Every batch request sees the image as loaded (registers restored after each one).

Exit status: 0 the translation succeeded (a batch: every line was processed), 1 it did not (fault,
abort, stall: single request), 2 bad input.

examples:
  iommu-emu translate --image examples/images/linux-virt-smmuv3-4k --sid 8 --iova 0xffe46010
  iommu-emu translate --image examples/images/linux-virt-smmuv3-4k --sid 8 --iova 0x1010 --access write --explain`,
  run: (args, io) => {
    const { values, positionals } = parseOptions('translate', args, translateCommand.options);
    if (positionals.length) throw new CliError(`translate: unexpected argument ${quote(positionals[0]!)}`);
    const image = values.image as string | undefined;
    if (image === undefined) throw new CliError('translate: --image DIR is required');
    const caching = values.caching === true;
    if (values.batch !== undefined) {
      const file = values.batch as string;
      for (const k of ['sid', 'ssid', 'iova', 'access', 'unpriv', 'explain'] as const)
        if (values[k] !== undefined) throw new CliError(`translate: --batch cannot be combined with --${k}`);
      const text = readBatch(file);
      const name = file === '-' ? 'stdin' : file;
      const reqs: TranslateRequest[] = [];
      text.split('\n').forEach((l, i) => {
        if (l.trim() !== '') reqs.push(parseBatchLine(l, `${name} line ${i + 1}`));
      });
      const smmu = loadImage(image, caching);
      // Each request sees the image as loaded: the register state (queue pointers, GERROR) is
      // restored after each one, so a result never depends on the requests before it. (Memory the
      // SMMU wrote, such as event records, stays; on a Linux image nothing else is written.)
      const saved = smmu.r.slice();
      const out: string[] = [];
      for (const q of reqs) {
        out.push(JSON.stringify({ request: requestJson(q), ...runRequest(smmu, q) }));
        smmu.r.set(saved);
        smmu.stalls.length = 0;
        smmu.pendingStalls.length = 0;
      }
      io.out(out.join('\n') + (out.length ? '\n' : ''));
      return 0;
    }
    if (values.sid === undefined) throw new CliError('translate: --sid N is required (or --batch FILE)');
    if (values.iova === undefined) throw new CliError('translate: --iova X is required');
    const q: TranslateRequest = {
      sid: Number(parseUnsigned(values.sid as string, 'translate: --sid', U32_MAX)),
      ssid:
        values.ssid === undefined
          ? -1
          : Number(parseUnsigned(values.ssid as string, 'translate: --ssid', U32_MAX)),
      iova: parseUnsigned(values.iova as string, 'translate: --iova', U64_MAX),
      access: parseAccess(values.access, 'translate: --access'),
      unpriv: values.unpriv === true,
    };
    const smmu = loadImage(image, caching);
    if (values.explain) {
      const x = explainRequest(smmu, q);
      io.out(values.json ? JSON.stringify(x) + '\n' : explainText(x));
      return x.outcome.ok ? 0 : 1;
    }
    const r = runRequest(smmu, q);
    io.out(values.json ? JSON.stringify({ request: requestJson(q), ...r }) + '\n' : outcomeText(r) + '\n');
    return r.ok ? 0 : 1;
  },
};

/** Kept for callers of the old entry point. */
export async function translateCmd(args: string[]): Promise<number> {
  const { processIo } = await import('./io.ts');
  return translateCommand.run(args, processIo);
}
