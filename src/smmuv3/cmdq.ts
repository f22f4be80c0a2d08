// Command queue processing (IHI0070 chapter 4, §7.1 command errors). Runs synchronously when
// software writes CMDQ_PROD, CR0 or GERRORN, like a model with no notion of time: every command
// that is consumed has completed. Commands are decoded through the layout tables (cold path).
//
// Errors: CERROR_ILL (unknown opcode, a feature the ID registers do not advertise, reserved
// encodings, SSec = 1 on the Non-secure queue), CERROR_ABT (the command read aborted),
// CERROR_ATC_INV_SYNC (a CMD_SYNC after an ATC_INV that did not complete). The error goes to
// CMDQ_CONS.ERR, GERROR.CMDQ_ERR toggles, CONS stays on the failing command, and processing halts
// until software acknowledges the error through GERRORN.
import { decode, reservedMasks, wordsToQwords } from '../layout/layout.ts';
import { CFGI_ALL_RANGE, CMD_BY_OP, OP } from './commands.ts';
import { queueGeometry, raiseGerror } from './evtq.ts';
import { TLB_EL2, TLB_S1, TLB_S2 } from './tlb.ts';
import type { SMMUv3 } from './smmuv3.ts';
import { qEmpty, qIndex, qNext, qPtr } from './queue.ts';
import { regBits, regOffset, regWordField } from './regs.ts';

/** RES0 bits of each command, from its layout table. */
const RESERVED: readonly (readonly bigint[] | undefined)[] = CMD_BY_OP.map((d) =>
  d ? reservedMasks(d.layout) : undefined,
);

export const CERROR_NONE = 0;
export const CERROR_ILL = 1;
export const CERROR_ABT = 2;
export const CERROR_ATC_INV_SYNC = 3;

const GERROR_CMDQ_ERR = regBits('GERROR', 'CMDQ_ERR');
const R_CR0 = regOffset('CR0') >> 2;
const CR0_CMDQEN = regBits('CR0', 'CMDQEN');
const CR0_SMMUEN = regBits('CR0', 'SMMUEN');
const smmuOff = (m: SMMUv3): boolean => (m.r[R_CR0]! & CR0_SMMUEN) === 0;
const R_GERROR = regOffset('GERROR') >> 2;
const R_GERRORN = regOffset('GERRORN') >> 2;
const A_CMDQ_BASE = regOffset('CMDQ_BASE');
const R_CMDQ_PROD = regOffset('CMDQ_PROD') >> 2;
const R_CMDQ_CONS = regOffset('CMDQ_CONS') >> 2;
const CONS_ERR = regWordField('CMDQ_CONS', 'ERR');
const R_CR2 = regOffset('CR2') >> 2;
const CR2_E2H = regBits('CR2', 'E2H');

export function processCmdq(m: SMMUv3): void {
  const r = m.r;
  if ((r[R_CR0]! & CR0_CMDQEN) === 0) return;
  if (((r[R_GERROR]! ^ r[R_GERRORN]!) & GERROR_CMDQ_ERR) !== 0) return; // error not yet acknowledged
  const { base, log2 } = queueGeometry(m, A_CMDQ_BASE, m.feat.cmdqBits);
  const words = new Uint32Array(4);
  for (let guard = 0; guard <= 2 ** (log2 + 1) + 1; guard++) {
    const prod = qPtr(r[R_CMDQ_PROD]!, log2);
    const cons = qPtr(r[R_CMDQ_CONS]!, log2);
    if (qEmpty(prod, cons, log2)) return;
    const at = base + qIndex(cons, log2) * 16;
    let err = CERROR_NONE;
    if (!m.mem.read64(at)) err = CERROR_ABT;
    else {
      words[0] = m.mem.lo;
      words[1] = m.mem.hi;
      if (!m.mem.read64(at + 8)) err = CERROR_ABT;
      else {
        words[2] = m.mem.lo;
        words[3] = m.mem.hi;
        err = execute(m, words);
      }
    }
    if (err !== CERROR_NONE) {
      r[R_CMDQ_CONS] = ((err << CONS_ERR.shift) | cons) >>> 0;
      raiseGerror(m, GERROR_CMDQ_ERR);
      return;
    }
    r[R_CMDQ_CONS] = qNext(cons, log2);
  }
}

/** 4 KiB pages of a TLBI range: (NUM+1) * 2^SCALE granules (RIL, §4.4.1.1), or one address. */
function tlbiRange(m: SMMUv3, f: Record<string, bigint>): { first: number; pages: number } | number {
  const addr = f.Address ?? 0n;
  const firstPage = Number(addr >> 12n);
  const tg = Number(f.TG ?? 0n);
  if (tg === 0) {
    if ((f.NUM ?? 0n) !== 0n || (f.SCALE ?? 0n) !== 0n || (f.TTL ?? 0n) !== 0n) return CERROR_ILL; // RES0 without TG
    return { first: firstPage, pages: 1 };
  }
  if (!m.feat.ril) return CERROR_ILL; // range invalidation not implemented (IDR3.RIL = 0)
  // TTL = 0b01 (level 1) with the 16 KiB granule needs SMMU_IDR5.DS (not implemented): it is then
  // treated as 0b00 (§4.4.1.1).
  const ttl = tg === 2 && f.TTL === 1n ? 0n : (f.TTL ?? 0n);
  // TG != 0 with NUM = SCALE = 0 and (effective) TTL = 0 is a Reserved combination: CERROR_ILL (§4.4.1.1).
  if ((f.NUM ?? 0n) === 0n && (f.SCALE ?? 0n) === 0n && ttl === 0n) return CERROR_ILL;
  const gShift = tg === 1 ? 12 : tg === 2 ? 14 : 16;
  const pages = (Number(f.NUM) + 1) * 2 ** Number(f.SCALE) * 2 ** (gShift - 12);
  return { first: firstPage - (firstPage % 2 ** (gShift - 12)), pages };
}

function execute(m: SMMUv3, w: Uint32Array): number {
  const op = w[0]! & 0xff;
  const def = CMD_BY_OP[op];
  if (!def) return CERROR_ILL;
  const q = wordsToQwords(w);
  // Reserved fields must be zero (§7.1: a command with a non-zero RES0 field is CERROR_ILL).
  const res0 = RESERVED[op]!;
  if ((q[0]! & res0[0]!) !== 0n || (q[1]! & res0[1]!) !== 0n) return CERROR_ILL;
  const f = decode(def.layout, q);
  if ((f.SSec ?? 0n) !== 0n) return CERROR_ILL; // Secure StreamIDs on the Non-secure queue
  const feat = m.feat;
  const cc = m.cc;
  const tlb = m.tlb;
  const num = (n: string) => Number(f[n] ?? 0n);
  switch (op) {
    case OP.PREFETCH_CONFIG:
    case OP.PREFETCH_ADDR:
      return 0; // hints: the model may ignore them (it fetches on demand)
    case OP.CFGI_STE: {
      const sid = num('StreamID');
      cc.invalidate((s) => s === sid); // Leaf = 0 also drops the stream's CDs: both live in one entry here
      return 0;
    }
    case OP.CFGI_STE_RANGE: {
      const range = num('Range');
      if (range === CFGI_ALL_RANGE) {
        cc.invalidateAll();
        return 0;
      }
      const span = 2 ** (range + 1);
      const first = num('StreamID') - (num('StreamID') % span);
      cc.invalidate((s) => s >= first && s < first + span);
      return 0;
    }
    case OP.CFGI_CD: {
      // CFGI_CD / CFGI_CD_ALL on an SMMU without stage 1 (no CDs): CERROR_ILL (§4.3.3, §4.3.4).
      if (!feat.s1) return CERROR_ILL;
      const sid = num('StreamID');
      const tag = num('SubstreamID') + 1;
      // A CD change may change what a non-substream transaction sees too (S1DSS = SUBSTREAM0, or
      // S1CDMax = 0 where the single CD is SubstreamID 0).
      cc.invalidate((s, t) => s === sid && (t === tag || (tag === 1 && t === 0)));
      return 0;
    }
    case OP.CFGI_CD_ALL: {
      if (!feat.s1) return CERROR_ILL;
      const sid = num('StreamID');
      cc.invalidate((s) => s === sid);
      return 0;
    }
    case OP.CFGI_VMS_PIDM:
      return CERROR_ILL; // VMS (SMMUv3.2 PARTID map) not implemented
    case OP.TLBI_NH_ALL:
      if (!feat.s1) return CERROR_ILL;
      tlb.invalidate(TLB_S1, feat.s2 ? num('VMID') : -1, -1, 0, Infinity, false);
      return 0;
    case OP.TLBI_NH_ASID:
      if (!feat.s1) return CERROR_ILL;
      tlb.invalidate(TLB_S1, feat.s2 ? num('VMID') : -1, num('ASID'), 0, Infinity, true);
      return 0;
    case OP.TLBI_NH_VA:
    case OP.TLBI_NH_VAA: {
      if (!feat.s1) return CERROR_ILL;
      const rg = tlbiRange(m, f);
      if (typeof rg === 'number') return rg;
      tlb.invalidate(
        TLB_S1,
        feat.s2 ? num('VMID') : -1,
        op === OP.TLBI_NH_VA ? num('ASID') : -1,
        rg.first,
        rg.pages,
        false,
      );
      return 0;
    }
    case OP.TLBI_EL3_ALL:
    case OP.TLBI_EL3_VA:
      return CERROR_ILL; // EL3 invalidations exist only on the Secure command queue
    case OP.TLBI_EL2_ALL:
    case OP.TLBI_EL2_ASID:
    case OP.TLBI_EL2_VA:
    case OP.TLBI_EL2_VAA: {
      // Stage-1 commands: CERROR_ILL without stage 1, and without IDR0.HYP (§4.4.2).
      if (!feat.hyp || !feat.s1) return CERROR_ILL;
      if (op === OP.TLBI_EL2_ALL) tlb.invalidate(TLB_EL2, -1, -1, 0, Infinity, false);
      else if (op === OP.TLBI_EL2_ASID) tlb.invalidate(TLB_EL2, -1, num('ASID'), 0, Infinity, true);
      else {
        const rg = tlbiRange(m, f);
        if (typeof rg === 'number') return rg;
        // With SMMU_CR2.E2H = 0 the ASID parameter of TLBI_EL2_VA is ignored (NS-EL2 entries carry no ASID, §4.4.2.8).
        const e2h = (m.r[R_CR2]! & CR2_E2H) !== 0;
        tlb.invalidate(
          TLB_EL2,
          -1,
          op === OP.TLBI_EL2_VA && e2h ? num('ASID') : -1,
          rg.first,
          rg.pages,
          false,
        );
      }
      return 0;
    }
    case OP.TLBI_S12_VMALL:
      if (!feat.s2) return CERROR_ILL;
      tlb.invalidate(TLB_S1, num('VMID'), -1, 0, Infinity, false);
      tlb.invalidate(TLB_S2, num('VMID'), -1, 0, Infinity, false);
      return 0;
    case OP.TLBI_S2_IPA: {
      if (!feat.s2) return CERROR_ILL;
      const rg = tlbiRange(m, f);
      if (typeof rg === 'number') return rg;
      // Stage-2-only entries. Combined (nested) entries need TLBI_NH_* / S12_VMALL afterwards, as
      // the architecture requires of software.
      tlb.invalidate(TLB_S2, num('VMID'), -1, rg.first, rg.pages, false);
      return 0;
    }
    case OP.TLBI_NSNH_ALL:
      tlb.invalidate(TLB_S1, -1, -1, 0, Infinity, false);
      tlb.invalidate(TLB_S2, -1, -1, 0, Infinity, false);
      return 0;
    case OP.ATC_INV: {
      if (!feat.ats) return CERROR_ILL;
      if (smmuOff(m)) return 0; // ignored while SMMUEN = 0: the ATS interface is not operational (§6.3.9.6)
      const sid = num('StreamID');
      if (m.atcTimeout.has(sid)) m.atcTimedOut = true;
      m.atcInvalidate?.(sid, f.SSV ? num('SubstreamID') : -1, f.Global === 1n, f.Address ?? 0n, num('Size'));
      return 0;
    }
    case OP.PRI_RESP: {
      if (!feat.pri) return CERROR_ILL;
      if (num('Resp') === 3) return CERROR_ILL;
      if (smmuOff(m)) return 0; // ignored while SMMUEN = 0 (§6.3.9.6)
      m.priResponses.push({
        sid: num('StreamID'),
        ssid: f.SSV ? num('SubstreamID') : -1,
        prgIndex: num('PRGIndex'),
        resp: num('Resp'),
      });
      return 0;
    }
    case OP.RESUME: {
      // Without the stall model (IDR0.STALL_MODEL = 0b01) RESUME and STALL_TERM are CERROR_ILL (§4.7.1, §4.7.2).
      if (feat.stallModel === 1) return CERROR_ILL;
      const sid = num('StreamID');
      const stag = num('STAG');
      const s = m.stalls.find((x) => x.sid === sid && x.stag === stag && x.state === 0);
      // Ac = 1 retries; Ac = 0 terminates as AB says (0: RAZ/WI, 1: abort), always with an abort
      // when IDR0.TERM_MODEL = 1 (§4.7.1). A RESUME for no stalled transaction is ignored.
      if (s) s.state = num('Ac') === 1 ? 1 : num('AB') === 1 || feat.termAbortOnly ? 2 : 3;
      return 0;
    }
    case OP.STALL_TERM: {
      if (feat.stallModel === 1) return CERROR_ILL;
      // Terminates with an abort, as CMD_RESUME(Terminate, Abort) would (§4.7.2).
      const sid = num('StreamID');
      for (const s of m.stalls) if (s.sid === sid && s.state === 0) s.state = 2;
      return 0;
    }
    case OP.SYNC: {
      if (m.atcTimedOut) {
        m.atcTimedOut = false;
        return CERROR_ATC_INV_SYNC;
      }
      const cs = num('CS');
      if (cs === 3) return CERROR_ILL;
      if (cs === 1) {
        const addr = Number(f.MSIAddress ?? 0n);
        if (feat.msi && addr !== 0) {
          if (!m.mem.write32(addr, num('MSIData'))) raiseGerror(m, 1 << 4); // MSI_CMDQ_ABT_ERR
        } else m.irqs.cmdSync++;
      } else if (cs === 2) {
        if (feat.sev) m.sevs++;
      }
      return 0;
    }
    default:
      return CERROR_ILL;
  }
}
