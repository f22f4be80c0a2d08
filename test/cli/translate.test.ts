// `iommu-emu translate` end to end, on the real-world image that Linux 6.12 programmed on QEMU's SMMUv3
// (examples/images/linux-virt-smmuv3-4k): all 2,336 DMAs of expected.jsonl in one batch run, single
// requests with --json, and bad input (one line on stderr, exit code 2, no stack trace).
// Every process is spawned at once in beforeAll (each costs ~0.5 s of start-up), then checked.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMAGE = join(ROOT, 'examples/images/linux-virt-smmuv3-4k');
const EXPECTED = join(IMAGE, 'expected.jsonl');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/iommu-emu.mjs', 'translate', ...args],
      { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface Expected {
  sid: number;
  iova: string;
  access: 'read' | 'write';
  result: 'ok' | 'fault';
  pa?: string;
  perm?: string;
  qemu_detail?: string;
}

let tmp = '';
const runs: Record<string, Run> = {};

/** Temp image directories for the bad-input cases. */
function badImages(): Record<string, string> {
  const d = (name: string) => {
    const p = join(tmp, name);
    mkdirSync(p);
    return p;
  };
  const badJson = d('bad-json');
  writeFileSync(join(badJson, 'image.json'), '{"iommu": "smmuv3", "registers": {\n');
  const badGz = d('bad-gzip');
  copyFileSync(join(IMAGE, 'image.json'), join(badGz, 'image.json'));
  writeFileSync(join(badGz, 'memory.bin.gz'), 'this is not gzip\n');
  const badReg = d('bad-register');
  const j = JSON.parse(readFileSync(join(IMAGE, 'image.json'), 'utf8')) as {
    registers: Record<string, string>;
  };
  j.registers.SMMU_FOO = '0x1';
  writeFileSync(join(badReg, 'image.json'), JSON.stringify(j));
  copyFileSync(join(IMAGE, 'memory.bin.gz'), join(badReg, 'memory.bin.gz'));
  return { badJson, badGz, badReg, missing: join(tmp, 'no-such-image') };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'iommu-emu-translate-'));
  const bad = badImages();
  const notJson = join(tmp, 'batch-not-json.jsonl');
  writeFileSync(notJson, '{"sid": 8, "iova": "0xffe46010"}\n\n{sid: 8}\n');
  // The batch: the requests of expected.jsonl (its other keys are the expected results).
  const requests = join(tmp, 'requests.jsonl');
  writeFileSync(
    requests,
    readFileSync(EXPECTED, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const e = JSON.parse(l) as Expected;
        return JSON.stringify({ sid: e.sid, iova: e.iova, access: e.access }) + '\n';
      })
      .join(''),
  );
  const cases: Record<string, string[]> = {
    batch: ['--image', IMAGE, '--batch', requests],
    singleOk: ['--image', IMAGE, '--sid', '8', '--iova', '0xffe46010', '--json'],
    singleFault: ['--image', IMAGE, '--sid', '0x8', '--iova', '0x1010', '--access', 'write', '--json'],
    singleAbort: ['--image', IMAGE, '--sid', '40', '--iova', '16', '--json'],
    missing: ['--image', bad.missing!, '--sid', '8', '--iova', '0x10'],
    badJson: ['--image', bad.badJson!, '--sid', '8', '--iova', '0x10'],
    badGz: ['--image', bad.badGz!, '--sid', '8', '--iova', '0x10'],
    badReg: ['--image', bad.badReg!, '--sid', '8', '--iova', '0x10'],
    badIova: ['--image', IMAGE, '--sid', '8', '--iova', '0x12g4'],
    badAccess: ['--image', IMAGE, '--sid', '8', '--iova', '0x10', '--access', 'rw'],
    notJson: ['--image', IMAGE, '--batch', notJson],
  };
  const done = await Promise.all(Object.entries(cases).map(async ([k, a]) => [k, await cli(a)] as const));
  for (const [k, v] of done) runs[k] = v;
}, 60_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('iommu-emu translate on the Linux/QEMU image', () => {
  it('batch: every one of the 2,336 DMAs gives the result QEMU gave', () => {
    const expected = readFileSync(EXPECTED, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Expected);
    expect(expected).toHaveLength(2336);
    const r = runs.batch!;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout.endsWith('\n')).toBe(true);
    const lines = r.stdout.slice(0, -1).split('\n');
    expect(lines).toHaveLength(expected.length);
    const mismatches: string[] = [];
    const tally: Record<string, number> = {};
    expected.forEach((e, i) => {
      const { request, ...got } = JSON.parse(lines[i]!) as Record<string, unknown> & {
        event?: { type: string };
      };
      // Each output line echoes its request.
      expect(request).toEqual({ sid: e.sid, ssid: null, iova: e.iova, access: e.access, unpriv: false });
      let want: unknown;
      let ok: boolean;
      if (e.result === 'ok') {
        want = { ok: true, pa: e.pa, perm: e.perm };
        ok = JSON.stringify(got) === JSON.stringify(want);
      } else if (e.qemu_detail?.startsWith('SMMU_EVT_')) {
        const type = e.qemu_detail.split(' ')[0]!.slice('SMMU_EVT_'.length);
        want = `ok:false, event ${type}`;
        ok = got.ok === false && got.event?.type === type;
      } else {
        expect(e.qemu_detail).toMatch(/^smmuv3_translate_abort /);
        want = { ok: false, abort: true };
        ok = JSON.stringify(got) === JSON.stringify(want);
      }
      const key = e.result === 'ok' ? 'ok' : String(e.qemu_detail).split(' ')[0]!;
      tally[key] = (tally[key] ?? 0) + 1;
      if (!ok && mismatches.length < 10)
        mismatches.push(`line ${i + 1} ${JSON.stringify(e)}: want ${JSON.stringify(want)}, got ${lines[i]}`);
    });
    expect(mismatches).toEqual([]);
    expect(tally).toEqual({
      ok: 1825,
      SMMU_EVT_F_TRANSLATION: 506,
      SMMU_EVT_F_PERMISSION: 1,
      smmuv3_translate_abort: 4,
    });
  });

  it('single request, --json: a mapped IOVA', () => {
    expect(runs.singleOk).toEqual({
      code: 0,
      stderr: '',
      stdout:
        '{"request":{"sid":8,"ssid":null,"iova":"0xffe46010","access":"read","unpriv":false},"ok":true,"pa":"0x447ea010","perm":"rw"}\n',
    });
  });

  it('single request, --json: an unmapped IOVA gives the F_TRANSLATION record', () => {
    const r = runs.singleFault!;
    // Exit status 1: the translation did not succeed.
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: '' });
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      event: { type: string; id: number; record: string[] };
    };
    // qword 0: StreamID 8, EventID 0x10; qword 1: CLASS IN (2), RnW 0 (write), PnU 1; qword 2: InputAddr.
    expect(out).toEqual({
      request: { sid: 8, ssid: null, iova: '0x1010', access: 'write', unpriv: false },
      ok: false,
      event: {
        type: 'F_TRANSLATION',
        id: 0x10,
        record: ['0x0000000800000010', '0x0000020200000000', '0x0000000000001010', '0x0000000000000000'],
      },
    });
    expect(r.stdout.split('\n')).toHaveLength(2);
  });

  it('single request, --json: the abort STE of StreamID 0x28', () => {
    expect(runs.singleAbort).toEqual({
      code: 1,
      stderr: '',
      stdout:
        '{"request":{"sid":40,"ssid":null,"iova":"0x10","access":"read","unpriv":false},"ok":false,"abort":true}\n',
    });
  });

  const ONE_LINE = /^iommu-emu: [^\n]+\n$/;
  it.each<[string, string | RegExp]>([
    ['missing', `iommu-emu: image ${'TMP'}/no-such-image: no such directory\n`],
    ['badJson', /^iommu-emu: image TMP\/bad-json: image\.json is not valid JSON \([^\n]+\)\n$/],
    [
      'badGz',
      'iommu-emu: image TMP/bad-gzip: memory[0]: "memory.bin.gz" is not valid gzip (incorrect header check)\n',
    ],
    ['badReg', 'iommu-emu: image TMP/bad-register: unknown register "SMMU_FOO"\n'],
    ['badIova', "iommu-emu: translate: --iova: '0x12g4' is not a hex (0x...) or decimal number\n"],
    ['badAccess', 'iommu-emu: translate: --access: access must be read, write or exec, got "rw"\n'],
    ['notJson', "iommu-emu: TMP/batch-not-json.jsonl line 3: not valid JSON: '{sid: 8}'\n"],
  ])('bad input (%s): one line on stderr, exit code 2, nothing on stdout', (k, want) => {
    const r = runs[k]!;
    const stderr = r.stderr.split(tmp).join('TMP');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr).toMatch(ONE_LINE);
    expect(stderr).not.toMatch(/\bat .*\.(ts|js|mjs):\d+/);
    if (typeof want === 'string') expect(stderr).toBe(want);
    else expect(stderr).toMatch(want);
  });
});
