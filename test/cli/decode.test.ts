// `iommu-emu decode`: a few end-to-end runs of the real binary (each costs a process start), the rest
// in-process through decodeCmd / main.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeCmd, STRUCTURE_NAMES } from '../../src/cli/decode.ts';
import { CliError } from '../../src/cli/errors.ts';
import { main } from '../../src/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXPECTED_LIST =
  'smmuv3-ste, smmuv3-cd, smmuv3-l1std, smmuv3-l1cd, smmuv3-cmd, smmuv3-evt, smmuv3-priq, vmsav8-table, vmsav8-s1-leaf, vmsav8-s2-leaf';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/iommu-emu.mjs', 'decode', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `fn` with stdout/stderr captured. */
async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stdout.write);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write);
  try {
    const code = await fn();
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const decode = (...args: string[]) => capture(() => decodeCmd(args));

afterEach(() => vi.restoreAllMocks());

describe('iommu-emu decode (spawned)', () => {
  it('prints one exact JSON line for an STE', () => {
    // V=1 Config=5 (S1_TRANS) S1Fmt=0 S1ContextPtr=0x43913000 S1CDMax=0; S1CIR=1 S1COR=1 S1CSH=3;
    // S2VMID=7; S2TTB=0x80000000.
    const r = cli('smmuv3-ste', '0x000000004391300b', '0xd4', '7', '0x80000000', '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const fields = {
      V: 1,
      Config: 5,
      S1Fmt: 0,
      S1ContextPtr: '0x43913000',
      S1CDMax: 0,
      S1DSS: 0,
      S1CIR: 1,
      S1COR: 1,
      S1CSH: 3,
      S2HWU59: 0,
      S2HWU60: 0,
      S2HWU61: 0,
      S2HWU62: 0,
      DRE: 0,
      CONT: 0,
      DCP: 0,
      PPAR: 0,
      MEV: 0,
      S2FWB: 0,
      S1MPAM: 0,
      S1STALLD: 0,
      EATS: 0,
      STRW: 0,
      MemAttr: 0,
      MTCFG: 0,
      ALLOCCFG: 0,
      SHCFG: 0,
      NSCFG: 0,
      PRIVCFG: 0,
      INSTCFG: 0,
      S2VMID: 7,
      S2T0SZ: 0,
      S2SL0: 0,
      S2IR0: 0,
      S2OR0: 0,
      S2SH0: 0,
      S2TG: 0,
      S2PS: 0,
      S2AA64: 0,
      S2ENDI: 0,
      S2AFFD: 0,
      S2PTW: 0,
      S2HD: 0,
      S2HA: 0,
      S2S: 0,
      S2R: 0,
      S2TTB: '0x80000000',
    };
    expect(r.stdout).toBe(JSON.stringify({ structure: 'smmuv3-ste', fields }) + '\n');
  });

  it('rejects a bad hex qword with one line on stderr and exit code 2', () => {
    const r = cli('smmuv3-ste', '0x1', '0xzz');
    expect(r).toEqual({
      status: 2,
      stdout: '',
      stderr: "iommu-emu: decode: qword1: '0xzz' is not a hex (0x...) or decimal number\n",
    });
  });

  it('rejects an unknown structure, naming the known ones', () => {
    const r = cli('foo', '0x1');
    expect(r).toEqual({
      status: 2,
      stdout: '',
      stderr: `iommu-emu: unknown structure 'foo' (expected one of: ${EXPECTED_LIST}; or a register, smmuv3-cr0 …)\n`,
    });
  });

  it('rejects more qwords than the structure has', () => {
    const r = cli('smmuv3-l1std', '1', '2');
    expect(r).toEqual({
      status: 2,
      stdout: '',
      stderr: 'iommu-emu: too many qwords for smmuv3-l1std: got 2, the structure has 1 (8 bytes)\n',
    });
  });
});

describe('decodeCmd (in-process)', () => {
  it('knows the expected structures', () => {
    expect(STRUCTURE_NAMES.join(', ')).toBe(EXPECTED_LIST);
  });

  it('picks the command by opcode and reports its name as type', async () => {
    // CFGI_STE, SSec=1, StreamID=42, Leaf=1
    const r = await decode('smmuv3-cmd', '0x0000002a00000403', '0x1', '--json');
    expect(r).toEqual({
      code: 0,
      err: '',
      out: '{"structure":"smmuv3-cmd","type":"CFGI_STE","fields":{"Opcode":3,"SSec":1,"StreamID":42,"Leaf":1}}\n',
    });
  });

  it('gives addresses (byte addresses) and fields wider than 53 bits as hex strings', async () => {
    // TLBI_NH_VA: NUM=3 SCALE=1 VMID=2 ASID=0x1234; Leaf=1 TTL=3 TG=4K VA=0xffff000040001000
    const q0 = (0x1234n << 48n) | (2n << 32n) | (1n << 20n) | (3n << 12n) | 0x12n;
    const q1 = 0xffff000040001000n | (1n << 10n) | (3n << 8n) | 1n;
    const r = await decode('smmuv3-cmd', `0x${q0.toString(16)}`, `0x${q1.toString(16)}`, '--json');
    expect(JSON.parse(r.out)).toEqual({
      structure: 'smmuv3-cmd',
      type: 'TLBI_NH_VA',
      fields: {
        Opcode: 0x12,
        NUM: 3,
        SCALE: 1,
        TTL128: 0,
        TTL: 3,
        TG: 1,
        VMID: 2,
        ASID: 0x1234,
        Leaf: 1,
        Address: '0xffff000040001000',
      },
    });
  });

  it('decodes an event record by EventID', async () => {
    // F_TRANSLATION, StreamID=1, SSV=1 SubstreamID=3, STAG=0xab Stall=1, RnW=1 S2=1 CLASS=IN,
    // InputAddr=0xffff800012345678, IPA=0x8_1234_5000
    const q0 = (1n << 32n) | (3n << 12n) | (1n << 11n) | 0x10n;
    const q1 = (2n << 40n) | (1n << 39n) | (1n << 35n) | (1n << 31n) | 0xabn;
    const r = await decode(
      'smmuv3-evt',
      `0x${q0.toString(16)}`,
      `0x${q1.toString(16)}`,
      '0xffff800012345678',
      '0x812345000',
      '--json',
    );
    expect(JSON.parse(r.out)).toEqual({
      structure: 'smmuv3-evt',
      type: 'F_TRANSLATION',
      fields: {
        EventID: 0x10,
        SSV: 1,
        SubstreamID: 3,
        StreamID: 1,
        STAG: 0xab,
        Stall: 1,
        PnU: 0,
        InD: 0,
        RnW: 1,
        NSIPA: 0,
        S2: 1,
        CLASS: 2,
        InputAddr: '0xffff800012345678',
        IPA: '0x812345000',
      },
    });
  });

  it('shows an unknown opcode / EventID with the header only, not as an error', async () => {
    expect((await decode('smmuv3-cmd', '0x99', '0xffff', '--json')).out).toBe(
      '{"structure":"smmuv3-cmd","type":"UNKNOWN(0x99)","fields":{"Opcode":153}}\n',
    );
    const r = await decode('smmuv3-evt', '0x00000007000058e3', '0xffffffff');
    expect(r.code).toBe(0);
    expect(r.err).toBe(''); // reserved bits of an unknown record are unknown: no warning
    expect(r.out.split('\n')[0]).toBe(
      'smmuv3-evt: UNKNOWN(0xe3): type not defined by IHI 0070 (or not modelled); header fields only',
    );
    expect((await decode('smmuv3-evt', '0x00000007000058e3', '--json')).out).toBe(
      '{"structure":"smmuv3-evt","type":"UNKNOWN(0xe3)","fields":{"EventID":227,"SSV":1,"SubstreamID":5,"StreamID":7}}\n',
    );
  });

  it('accepts decimal qwords and treats missing ones as zero', async () => {
    expect((await decode('smmuv3-l1cd', '4097', '--json')).out).toBe(
      '{"structure":"smmuv3-l1cd","fields":{"V":1,"L2Ptr":"0x1000"}}\n',
    );
    const r = await decode(
      'smmuv3-priq',
      `0x${((1n << 63n) | (1n << 60n) | (9n << 32n) | 0x10n).toString(16)}`,
      '--json',
    );
    expect(JSON.parse(r.out).fields).toMatchObject({
      StreamID: 16,
      SubstreamID: 9,
      R: 1,
      W: 0,
      SSV: 1,
      PRGIndex: 0,
      PageAddress: '0x0',
    });
  });

  it('prints a readable table: title, then name / bits / value / encoding per field', async () => {
    const r = await decode('smmuv3-ste', '0x000000004391300b');
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toBe('smmuv3-ste: Stream Table Entry (IHI0070 §5.2)');
    expect(lines[1]).toMatch(/^\s+field\s+bits\s+value\s+encoding$/);
    expect(r.out).toMatch(/^\s+V\s+q0\[0\]\s+0x1$/m);
    expect(r.out).toMatch(/^\s+Config\s+q0\[3:1\]\s+0x5\s+S1_TRANS$/m);
    expect(r.out).toMatch(/^\s+S1ContextPtr\s+q0\[51:6\]\s+0x43913000$/m);
    expect(r.out).toMatch(/^\s+S2TTB\s+q3\[51:4\]\s+0x0$/m);
    expect(lines).toHaveLength(2 + 47);
    const sync = await decode('smmuv3-cmd', '0x1046');
    expect(sync.out.split('\n')[0]).toBe('smmuv3-cmd: CMD_SYNC (IHI0070 §4.7.3)');
    expect(sync.out).toMatch(/^\s+CS\s+q0\[13:12\]\s+0x1\s+SIG_IRQ$/m);
  });

  it('warns about reserved bits on stderr in table mode only', async () => {
    const r = await decode('smmuv3-ste', '0x1', '0x100000');
    expect(r.code).toBe(0);
    expect(r.err).toBe('warning: smmuv3-ste: reserved bits set in q1: q1[20] (0x0000000000100000; RES0)\n');
    expect((await decode('smmuv3-ste', '0x1', '0x100000', '--json')).err).toBe('');
  });

  it('matches the structure name case-insensitively and echoes it as given', async () => {
    expect((await decode('SMMUv3-L1STD', '0x1000', '--json')).out).toBe(
      '{"structure":"SMMUv3-L1STD","fields":{"Span":0,"L2Ptr":"0x1000"}}\n',
    );
  });

  it.each([
    [
      ['foo', '1'],
      `unknown structure 'foo' (expected one of: ${EXPECTED_LIST}; or a register, smmuv3-cr0 …)`,
    ],
    [[], `decode: missing <structure> (expected one of: ${EXPECTED_LIST})`],
    [['smmuv3-cd'], 'decode: missing <qword0>'],
    [['smmuv3-cmd', '1', '2', '3'], 'too many qwords for smmuv3-cmd: got 3, the structure has 2 (16 bytes)'],
    [['smmuv3-evt', '0x1', '12a'], "decode: qword1: '12a' is not a hex (0x...) or decimal number"],
    [
      ['smmuv3-evt', '0x10000000000000000'],
      "decode: qword0: '0x10000000000000000' is out of range (max 0xffffffffffffffff)",
    ],
  ])('decode %j throws CliError', async (args, msg) => {
    const p = decodeCmd(args);
    await expect(p).rejects.toThrow(CliError);
    await expect(decodeCmd(args)).rejects.toThrow(msg);
  });

  it('main reports CLI errors and unknown options as one line with exit code 2', async () => {
    const bad = await capture(() => main(['decode', 'smmuv3-ste', '1', '--bogus']));
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toMatch(/^iommu-emu: .*--bogus.*\n$/);
    const unk = await capture(() => main(['decode', 'nope', '1']));
    expect(unk).toEqual({
      code: 2,
      out: '',
      err: `iommu-emu: unknown structure 'nope' (expected one of: ${EXPECTED_LIST}; or a register, smmuv3-cr0 …)\n`,
    });
  });

  it('prints its usage with --help', async () => {
    const r = await capture(() => main(['decode', '--help']));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: iommu-emu decode <structure>/);
  });
});

describe('decode: registers from the architecture registry', () => {
  it('decodes a register value by field, named <iommu>-<register> (IHI0070 §6.3.24)', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => {} } as unknown as Parameters<
      typeof decodeCmd
    >[1];
    expect(await decodeCmd(['smmuv3-strtab_base_cfg', '0x10208', '--json'], io)).toBe(0);
    const j = JSON.parse(out.join('')) as { fields: Record<string, unknown> };
    expect(j.fields).toEqual({ LOG2SIZE: 8, SPLIT: 8, FMT: 1 });
  });
  it('gives an address field of a register as the byte address (STRTAB_BASE.ADDR, §6.3.23)', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => {} } as unknown as Parameters<
      typeof decodeCmd
    >[1];
    expect(await decodeCmd(['smmuv3-strtab_base', '0x4000000043913040', '--json'], io)).toBe(0);
    const j = JSON.parse(out.join('')) as { fields: Record<string, unknown> };
    expect(j.fields.ADDR).toBe('0x43913040');
    expect(j.fields.RA).toBe(1);
  });
});

describe('decode: a 32-bit register value wider than 32 bits', () => {
  it('is bad input (exit 2), not silently truncated', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (s: string) => err.push(s) } as unknown as Parameters<
      typeof decodeCmd
    >[1];
    await expect(decodeCmd(['smmuv3-cr0', '0x100000001'], io)).rejects.toThrow(/32-bit register/);
  });
});
