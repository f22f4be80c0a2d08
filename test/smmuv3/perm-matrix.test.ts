// The whole VMSAv8-64 permission matrix, checked cell by cell against the architecture's rule
// (written here from DDI 0487 AArch64.S1DirectBasePermissions / S1CheckPermission and
// S2DirectBasePermissions / S2CheckPermission, not from either model): every AP[2:1] / PXN / UXN /
// APTable / PXNTable / UXNTable (XNTable) / DBM leaf-and-table combination under CD.PAN / WXN / HA+HD,
// in the EL1&0 and the EL2 StreamWorld regimes, and every S2AP / XN[1:0] (with and without FEAT_XNX)
// / DBM combination under S2HA+S2HD; for privileged and unprivileged data reads, data writes,
// instruction fetches and instruction writes (IHI0070 §13.7.1: a write is a data write). Both the
// fast model and the reference model must give the rule's outcome, permission mask and dirty-state
// update.
import { describe, expect, it } from 'vitest';
import { encode } from '../../src/layout/layout.ts';
import { refTranslate } from '../../src/ref/smmuv3-ref.ts';
import { EVT } from '../../src/smmuv3/events.ts';
import { VMSA_S1_LEAF, VMSA_S2_LEAF, VMSA_TABLE } from '../../src/pt/vmsav8-64.ts';
import {
  ACC_U,
  ACC_W,
  ACC_X,
  P_R,
  P_W,
  P_X,
  ST_OK,
  U_R,
  U_W,
  U_X,
  cdFields,
  entryAddr,
  q,
  rig,
  s1Table,
  s2Fields,
  s2Table,
  tx,
  type Rig,
} from './harness.ts';

const VA = 0x12_3456_7000n;
const PA = 0x4030_0000;
/** Data read, data write, instruction fetch, instruction write; privileged and unprivileged. */
const ACCESSES = [0, ACC_W, ACC_X, ACC_W | ACC_X].flatMap((a) => [a, a | ACC_U]);

interface Rule {
  ok: boolean;
  /** Permission mask of the translation after the access (P_* / U_*), when ok. */
  perm: number;
  /** The access dirties a writable-clean page (AP[2] / S2AP[1] written by the SMMU). */
  dirty: boolean;
}

interface S1Cell {
  el2: boolean;
  pan: boolean;
  wxn: boolean;
  hd: boolean;
  ap: number; // AP[2:1]
  pxn: number;
  uxn: number;
  dbm: number;
  apTable: number;
  pxnTable: number;
  uxnTable: number;
}

/** DDI 0487 AArch64.S1DirectBasePermissions + S1CheckPermission, for one access. */
function s1Rule(c: S1Cell, acc: number): Rule {
  const write = (acc & ACC_W) !== 0;
  const fetch = (acc & ACC_X) !== 0 && !write;
  const user = (acc & ACC_U) !== 0;
  const ap2 = (c.ap >> 1) & 1;
  const ap1 = c.ap & 1;
  // HD with DBM: the effective AP[2] is 0 (writable-clean counts as writable).
  const ap2e = c.hd && c.dbm ? 0 : ap2;
  /** The rule's (pr, pw, px, ur, uw, ux) for an effective AP[2] and whether PAN applies. */
  const perms = (a2: number, pan: boolean) => {
    if (c.el2) {
      // One privilege level: AP[1], APTable[0] and PXN / PXNTable do not apply; XN is bit 54.
      const pw = a2 === 0 && (c.apTable & 2) === 0;
      const px = !(c.uxn || c.uxnTable) && !(c.wxn && pw);
      return { pr: true, pw, px, ur: true, uw: pw, ux: px }; // model choice: unprivileged = privileged
    }
    let pr = true,
      pw = a2 === 0,
      ur = ap1 === 1,
      uw = ap1 === 1 && a2 === 0;
    if (c.apTable & 1) ur = uw = false;
    if (c.apTable & 2) pw = uw = false;
    let px = !(c.pxn || c.pxnTable || uw);
    let ux = !(c.uxn || c.uxnTable);
    px = px && !(c.wxn && pw);
    ux = ux && !(c.wxn && uw);
    if (pan && ur) pr = pw = false; // PAN: privileged data accesses only
    return { pr, pw, px, ur, uw, ux };
  };
  const p = perms(ap2e, c.pan && !fetch);
  const ok = fetch ? (user ? p.ux : p.px) : write ? (user ? p.uw : p.pw) : user ? p.ur : p.pr;
  const dirty = ok && write && c.hd && c.dbm === 1 && ap2 === 1;
  // The mask reports data permissions with PAN, execute without it (fetches ignore PAN), and
  // write permission only once the page is dirty.
  const now = perms(dirty ? 0 : ap2, c.pan);
  const x = perms(ap2e, false);
  const perm =
    (now.pr ? P_R : 0) |
    (now.pw ? P_W : 0) |
    (x.px ? P_X : 0) |
    (now.ur ? U_R : 0) |
    (now.uw ? U_W : 0) |
    (x.ux ? U_X : 0);
  return { ok, perm, dirty };
}

interface S2Cell {
  xnx: boolean;
  hd: boolean;
  s2ap: number;
  xn: number;
  dbm: number;
}

/** DDI 0487 AArch64.S2DirectBasePermissions + S2CheckPermission, for one access. */
function s2Rule(c: S2Cell, acc: number): Rule {
  const write = (acc & ACC_W) !== 0;
  const fetch = (acc & ACC_X) !== 0 && !write;
  const user = (acc & ACC_U) !== 0;
  const r = (c.s2ap & 1) === 1;
  const w = (c.s2ap & 2) !== 0 || (c.hd && c.dbm === 1);
  let px: boolean, ux: boolean;
  if (c.xnx) {
    px = c.xn === 0 || c.xn === 3;
    ux = c.xn === 0 || c.xn === 1;
  } else px = ux = (c.xn & 2) === 0;
  const ok = fetch ? (user ? ux : px) : write ? w : r;
  const dirty = ok && write && (c.s2ap & 2) === 0 && c.hd && c.dbm === 1;
  const wNow = (c.s2ap & 2) !== 0 || dirty;
  const perm = (r ? P_R | U_R : 0) | (wNow ? P_W | U_W : 0) | (px ? P_X : 0) | (ux ? U_X : 0);
  return { ok, perm, dirty };
}

/** One transaction on both models against the rule; returns a description of each difference. */
function check(r: Rig, sid: number, iova: bigint, acc: number, leafAt: number, leaf: bigint, want: Rule) {
  const errs: string[] = [];
  r.mem.writeQwords(leafAt, [leaf]);
  const ref = refTranslate(r.smmu, sid, -1, iova, acc);
  const refGot =
    ref.kind === 'ok'
      ? { ok: true, perm: ref.perm, dirty: ref.updates.some((u) => Number(u.addr) === leafAt) }
      : { ok: false, event: ref.kind === 'fault' ? ref.event : -1 };
  const t = tx(r, sid, -1, iova, acc);
  const fastGot =
    t.status === ST_OK
      ? { ok: true, perm: t.perm, dirty: q(r, leafAt) !== leaf }
      : { ok: false, event: t.event };
  const wantGot = want.ok
    ? { ok: true, perm: want.perm, dirty: want.dirty }
    : { ok: false, event: EVT.F_PERMISSION };
  const fmt = (o: object) => JSON.stringify(o);
  if (fmt(refGot) !== fmt(wantGot)) errs.push(`ref ${fmt(refGot)} != rule ${fmt(wantGot)}`);
  if (fmt(fastGot) !== fmt(wantGot)) errs.push(`fast ${fmt(fastGot)} != rule ${fmt(wantGot)}`);
  return errs;
}

const bits = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('stage-1 permission matrix (DDI 0487 S1DirectBasePermissions; IHI0070 §5.4 PAN / WXN / HA / HD)', () => {
  for (const el2 of [false, true]) {
    it(`${el2 ? 'EL2 StreamWorld (one privilege level)' : 'EL1&0'}: every cell agrees with the rule`, () => {
      const r = rig({ hyp: true }, {}, 4);
      const pt = s1Table(r);
      pt.map(VA, BigInt(PA), 0x1000n);
      const leafAt = entryAddr(r, pt, VA, 3);
      const tableAt = entryAddr(r, pt, VA, 2);
      const table = q(r, tableAt);
      // One stream per CD variant (PAN, WXN, HA+HD), all on the same tables.
      const variants: { sid: number; pan: boolean; wxn: boolean; hd: boolean }[] = [];
      for (const pan of [false, true])
        for (const wxn of [false, true])
          for (const hd of [false, true]) {
            const sid = variants.length + 1;
            const cdt = r.drv.makeCdTable(0, 0);
            const extra = { PAN: +pan, WXN: +wxn, HA: +hd, HD: +hd, R: 0 };
            cdt.writeCd(sid, 0, cdFields(pt, sid, extra), false);
            r.drv.writeSte(sid, { V: 1, Config: 5, ...cdt.steFields(), STRW: el2 ? 2 : 0 });
            variants.push({ sid, pan, wxn, hd });
          }
      const errs: string[] = [];
      let cells = 0;
      for (const v of variants)
        for (const ap of bits(4))
          for (const xn of bits(4))
            for (const dbm of bits(2))
              for (const apTable of bits(4))
                for (const tx_ of bits(4)) {
                  const c: S1Cell = {
                    el2,
                    ...v,
                    ap,
                    pxn: xn & 1,
                    uxn: xn >> 1,
                    dbm,
                    apTable,
                    pxnTable: tx_ & 1,
                    uxnTable: tx_ >> 1,
                  };
                  const leaf = encode(VMSA_S1_LEAF, {
                    Valid: 1,
                    Page: 1,
                    AF: 1,
                    SH: 3,
                    OutputAddr: BigInt(PA),
                    AP: ap,
                    PXN: c.pxn,
                    UXN: c.uxn,
                    DBM: dbm,
                  })[0]!;
                  r.mem.writeQwords(tableAt, [
                    table |
                      encode(VMSA_TABLE, {
                        APTable: apTable,
                        PXNTable: c.pxnTable,
                        UXNTable: c.uxnTable,
                      })[0]!,
                  ]);
                  for (const acc of ACCESSES) {
                    cells++;
                    for (const e of check(r, v.sid, VA + 0x18n, acc, leafAt, leaf, s1Rule(c, acc)))
                      if (errs.length < 20) errs.push(`${JSON.stringify(c)} acc=${acc}: ${e}`);
                  }
                }
      expect(errs).toEqual([]);
      expect(cells).toBe(8 * 4 * 4 * 2 * 4 * 4 * ACCESSES.length);
    });
  }
});

describe('stage-2 permission matrix (DDI 0487 S2DirectBasePermissions; IHI0070 §5.2 S2HA / S2HD, IDR3.XNX)', () => {
  for (const xnx of [false, true]) {
    it(`${xnx ? 'with' : 'without'} FEAT_XNX: every cell agrees with the rule`, () => {
      const r = rig({ xnx }, {}, 4);
      const pt = s2Table(r, 12, 40, 1);
      pt.map(0x7000n, BigInt(PA), 0x1000n);
      const leafAt = entryAddr(r, pt, 0x7000n, 3);
      for (const hd of [false, true])
        r.drv.writeSte(hd ? 2 : 1, {
          V: 1,
          Config: 6,
          ...s2Fields(pt, hd ? 2 : 1, { S2HA: +hd, S2HD: +hd, S2R: 0 }),
        });
      const errs: string[] = [];
      for (const hd of [false, true])
        for (const s2ap of bits(4))
          for (const xn of bits(4))
            for (const dbm of bits(2)) {
              const c: S2Cell = { xnx, hd, s2ap, xn, dbm };
              const leaf = encode(VMSA_S2_LEAF, {
                Valid: 1,
                Page: 1,
                AF: 1,
                SH: 3,
                MemAttr: 0xf,
                OutputAddr: BigInt(PA),
                S2AP: s2ap,
                XN: xn,
                DBM: dbm,
              })[0]!;
              for (const acc of ACCESSES)
                for (const e of check(r, hd ? 2 : 1, 0x7018n, acc, leafAt, leaf, s2Rule(c, acc)))
                  if (errs.length < 20) errs.push(`${JSON.stringify(c)} acc=${acc}: ${e}`);
            }
      expect(errs).toEqual([]);
    });
  }
});
