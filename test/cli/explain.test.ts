// translate --explain, image info, image dump on the real Linux image, the SubstreamID domain, and
// a reader that closes the pipe early.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE, ROOT, runMain } from './helpers.ts';

const tr = (...a: string[]) => ['translate', '--image', IMAGE, ...a];

interface Step {
  kind: string;
  what: string;
  level: number | null;
  addr: string;
  raw: string[] | null;
  fields: Record<string, number | string>;
  index: string | null;
}

describe('translate --explain', () => {
  it('a mapped IOVA: every read from the L1STD to the level-3 page, the rule, the reference agreeing', async () => {
    const r = await runMain(tr('--sid', '8', '--iova', '0xffe46010', '--explain', '--json'));
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const x = JSON.parse(r.out) as {
      request: unknown;
      outcome: unknown;
      reference: unknown;
      steps: Step[];
      rule: string;
    };
    expect(x.request).toEqual({ sid: 8, ssid: null, iova: '0xffe46010', access: 'read', unpriv: false });
    expect(x.outcome).toEqual({ ok: true, pa: '0x447ea010', perm: 'rw' });
    expect(x.reference).toEqual({ agrees: true, outcome: 'ok pa=0x447ea010' });
    expect(x.steps.map((s) => s.what)).toEqual([
      'L1STD',
      'STE[0x8]',
      'CD[-]',
      'S1 level 0 table',
      'S1 level 1 table',
      'S1 level 2 table',
      'S1 level 3 page',
    ]);
    // The 2-level stream table: L1STD 0 (StreamID[15:8] = 0) at STRTAB_BASE; STE 8 in its level-2 table.
    expect(x.steps[0]).toEqual({
      kind: 'L1STD',
      what: 'L1STD',
      level: null,
      addr: '0x43913000',
      raw: ['0x000000005b460009'],
      fields: { Span: 9, L2Ptr: '0x5b460000' },
      index: null,
    });
    expect(x.steps[1]!.addr).toBe('0x5b460200');
    expect(x.steps[1]!.raw).toHaveLength(8);
    expect(x.steps[1]!.fields).toMatchObject({
      V: 1,
      Config: 'S1_TRANS',
      S1ContextPtr: '0x441c9000',
      S1CDMax: 0,
    });
    expect(x.steps[2]!.fields).toMatchObject({ V: 1, T0SZ: 16, TG0: '4K', TTB0: '0x441ca000' });
    expect(x.steps.slice(3).map((s) => s.index)).toEqual([
      'IOVA[47:39] = 0x0',
      'IOVA[38:30] = 0x3',
      'IOVA[29:21] = 0x1ff',
      'IOVA[20:12] = 0x46',
    ]);
    expect(x.steps[6]!).toMatchObject({
      addr: '0x441c3230',
      raw: ['0x00000000447eaf47'],
      fields: { Valid: 1, Page: 1, OutputAddr: '0x447ea000', AP: 1, AF: 1 },
    });
    expect(x.rule).toBe(
      'S1 level 3 page: PA = OutputAddr 0x447ea000 | IOVA[11:0]; permissions rw allow a privileged read (DDI 0487 D8.3)',
    );
  });

  it('an unmapped IOVA: the invalid level-1 descriptor and F_TRANSLATION, as a text diagram (exit 1)', async () => {
    const r = await runMain(tr('--sid', '8', '--iova', '0x1010', '--access', 'write', '--explain'));
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('translate sid 0x8 iova 0x1010 (privileged write)');
    expect(lines).toContain('  ├─ S1 level 1 invalid  @0x441c5000  0x0000000000000000  IOVA[38:30] = 0x0');
    expect(lines).toContain('  └─ fault  F_TRANSLATION (0x10)');
    expect(lines).toContain(
      '     rule: stage 1: the level 1 descriptor is invalid (bit[0] = 0) (DDI 0487 D8.3; IHI 0070 §7.3.13)',
    );
    expect(lines[lines.length - 1]).toBe('     reference model: agrees (fault F_TRANSLATION)');
  });

  it('the abort STE of StreamID 0x28 and a StreamID beyond the stream table', async () => {
    const a = await runMain(tr('--sid', '0x28', '--iova', '0', '--explain', '--json'));
    expect(a.code).toBe(1);
    const ax = JSON.parse(a.out) as { outcome: unknown; rule: string; steps: Step[] };
    expect(ax.outcome).toEqual({ ok: false, abort: true });
    expect(ax.rule).toBe('STE.Config = 0b0xx (abort): terminated without an event (IHI 0070 §5.2)');
    expect(ax.steps.map((s) => s.what)).toEqual(['L1STD', 'STE[0x28]']);
    const b = await runMain(tr('--sid', '0x10000', '--iova', '0', '--explain', '--json'));
    const bx = JSON.parse(b.out) as { outcome: { event: { type: string } }; rule: string; steps: Step[] };
    expect(bx.outcome.event.type).toBe('C_BAD_STREAMID');
    expect(bx.steps).toEqual([]);
    expect(bx.rule).toMatch(/^StreamID 0x10000 is beyond the stream table/);
  });

  it('a write to a read-only page names the permission rule', async () => {
    // The one F_PERMISSION of expected.jsonl: StreamID 0x18 write at 0xffeba010.
    const r = await runMain(
      tr('--sid', '0x18', '--iova', '0xffeba010', '--access', 'write', '--explain', '--json'),
    );
    const x = JSON.parse(r.out) as { outcome: { event: { type: string } }; rule: string; steps: Step[] };
    expect(r.code).toBe(1);
    expect(x.outcome.event.type).toBe('F_PERMISSION');
    expect(x.rule).toBe(
      'stage 1: AP=0b11 (read-only at both privilege levels) does not allow a privileged write (the access needs write permission) (DDI 0487 D8.4; IHI 0070 §7.3.16)',
    );
    expect(x.steps[x.steps.length - 1]!.fields.AP).toBe(3);
  });
});

describe('translate --explain on the demo machine (stage 2, nested, 2-level CD table)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iommu-emu-explain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const demo = join(dir, 'demo');

  it('nested: the CD address is an IPA, its eight stage-2 walks shown once, the reference agrees', async () => {
    expect((await runMain(['image', 'save', demo])).code).toBe(0);
    const r = await runMain([
      'translate',
      '--image',
      demo,
      '--sid',
      '0x20',
      '--iova',
      '0xffff0010',
      '--explain',
      '--json',
    ]);
    const x = JSON.parse(r.out) as { steps: Step[]; reference: { agrees: boolean } };
    expect(x.reference.agrees).toBe(true);
    expect(x.steps.map((s) => s.what).slice(0, 5)).toEqual([
      'L1STD',
      'STE[0x20]',
      'S2 level 1 table',
      'S2 level 2 block (walk ×8)',
      'CD[-] (IPA)',
    ]);
    expect(x.steps[4]!.addr).toBe('0x5000');
    const d = await runMain(['image', 'dump', demo, '--sid', '0x10', '--ssid', '1', '--json']);
    const dx = JSON.parse(d.out) as { structures: { what: string }[] };
    expect(dx.structures.map((s) => s.what)).toEqual(['L1STD', 'STE[0x10]', 'L1CD', 'CD[0x1]']);
  });
});

describe('SubstreamIDs: the CLI domain is [0, 2^32 - 1]; the model answers C_BAD_SUBSTREAMID beyond SSIDSIZE', () => {
  // IHI 0070 §3.3.2, §7.3.9: a SubstreamID wider than SMMU_IDR1.SSIDSIZE (0 on this image) is
  // C_BAD_SUBSTREAMID, whatever its value (it used to throw from the layout code at 2^20).
  const check = async (ssid: string) => {
    const r = await runMain(tr('--sid', '8', '--ssid', ssid, '--iova', '0x1000', '--json'));
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { event: { type: string } }).event.type).toBe('C_BAD_SUBSTREAMID');
  };
  it.each(['0x1', '0xfffff', '0x100000', '0xffffffff'])('--ssid %s', check);
});

describe('image info / dump', () => {
  it('info --json: registers by field, the stream-table format, every valid STE', async () => {
    const r = await runMain(['image', 'info', IMAGE, '--json']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.out) as {
      registers: Record<string, { value: string; fields: Record<string, number | string> }>;
      streamTable: Record<string, unknown>;
      streams: { sid: number; config: string; ste: string }[];
      memory: unknown[];
    };
    expect(x.registers.CR0).toEqual({
      value: '0xd',
      fields: { SMMUEN: 1, PRIQEN: 0, EVENTQEN: 1, CMDQEN: 1, ATSCHK: 0, VMW: 0 },
    });
    expect(x.registers.STRTAB_BASE!.fields.ADDR).toBe('0x43913000');
    expect(x.registers.STRTAB_BASE_CFG!.fields).toMatchObject({ LOG2SIZE: 16, SPLIT: 8, FMT: 1 });
    expect(x.streamTable).toEqual({
      format: '2-level',
      base: '0x43913000',
      log2size: 16,
      split: 8,
      notScanned: 0,
    });
    expect(x.memory).toHaveLength(13);
    const translating = x.streams.filter((s) => s.config !== 'ABORT');
    expect(translating.map((s) => [s.sid, s.config, s.ste])).toEqual([
      [8, 'S1_TRANS', '0x5b460200'],
      [16, 'S1_TRANS', '0x5b460400'],
      [24, 'S1_TRANS', '0x5b460600'],
      [32, 'S1_TRANS', '0x5b460800'],
    ]);
    expect(x.streams).toHaveLength(256);
  });

  it('info (text): abort STEs as ranges, the others one per line', async () => {
    const r = await runMain(['image', 'info', IMAGE]);
    expect(r.out).toContain(
      'stream table: 2-level at 0x43913000, LOG2SIZE 16 (65536 StreamIDs), SPLIT 8 (256 L1 descriptors)',
    );
    expect(r.out).toContain(
      '  abort (Config=ABORT): StreamIDs 0x0-0x7, 0x9-0xf, 0x11-0x17, 0x19-0x1f, 0x21-0xff',
    );
    expect(r.out).toMatch(
      /^ {2}sid 0x8 {3}S1_TRANS {2}STE @0x5b460200 {2}S1Fmt=LINEAR S1ContextPtr=0x441c9000/m,
    );
    expect(r.out).toMatch(/^ {2}CR0 +0x0000000d +SMMUEN=1 EVENTQEN=1 CMDQEN=1$/m);
  });

  it('dump --sid 8: the L1STD, STE and CD at their addresses, every field; --iova adds the descriptors', async () => {
    const r = await runMain(['image', 'dump', IMAGE, '--sid', '8', '--json']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.out) as {
      structures: { what: string; addr: string; structure: string; fields: object }[];
    };
    expect(x.structures.map((s) => [s.what, s.addr, s.structure])).toEqual([
      ['L1STD', '0x43913000', 'smmuv3-l1std'],
      ['STE[0x8]', '0x5b460200', 'smmuv3-ste'],
      ['CD[-]', '0x441c9000', 'smmuv3-cd'],
    ]);
    expect(Object.keys(x.structures[1]!.fields)).toHaveLength(47);
    const w = await runMain(['image', 'dump', IMAGE, '--sid', '8', '--iova', '0xffe46010']);
    expect(w.out).toContain(
      'S1 level 3 page @0x441c3230\nvmsav8-s1-leaf: VMSAv8-64 stage-1 block/page descriptor',
    );
    const bad = await runMain(['image', 'dump', IMAGE, '--sid', '8', '--ssid', '1']);
    // The SubstreamID beyond SSIDSIZE is reported once the STE has been read (IHI0070 §7.3.22).
    expect(bad.out).toContain('STE[0x8] @0x5b460200');
    expect(bad.out).not.toContain('CD[');
    expect(bad.out).toMatch(
      /\nreading stopped: C_BAD_SUBSTREAMID \(iommu-emu translate --explain tells why\)\n$/,
    );
  });
});

describe('a closed pipe', () => {
  it('`| head -1`: no stack trace, exit 0', async () => {
    // A batch of 20,000 lines (~2.5 MB of output); the reader takes one chunk and closes the pipe.
    const lines = Array.from({ length: 20_000 }, () => '{"sid": 8, "iova": "0xffe46010"}').join('\n');
    const p = spawn(process.execPath, ['bin/iommu-emu.mjs', 'translate', '--image', IMAGE, '--batch', '-'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.once('data', () => p.stdout.destroy());
    p.stdin.end(lines);
    const code = await new Promise<number | null>((resolve) => p.on('close', (c) => resolve(c)));
    expect(err).toBe('');
    expect(code).toBe(0);
  });
});
