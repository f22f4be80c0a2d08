// Machine images: a directory with image.json (registers by their spec names, memory as chunks of
// files placed at physical addresses) and the files it names (gzip when the name ends in .gz).
// Addresses no chunk covers are not backed: an access there is an external abort.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PhysMem } from '../mem/phys-mem.ts';
import { ARCHES, archByName, type IommuArch, type IommuModel } from '../arch/registry.ts';
import type { ModelCreateOptions } from '../arch/arch.ts';
import type { SMMUv3, ModelOptions } from '../smmuv3/smmuv3.ts';

export class ImageError extends Error {
  override readonly name = 'ImageError';
}

export interface ImageChunk {
  pa: string;
  size: string;
  file: string;
  offset?: string;
}

export interface ImageJson {
  iommu: string;
  registers: Record<string, string>;
  memory: ImageChunk[];
}

/** A JSON value for a message: at most 40 characters of its JSON text. */
function shown(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function hexField(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v !== 'string' || !/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(v))
    throw new ImageError(`${what}: expected a hex string like "0x1000", got ${shown(v)}`);
  return BigInt(v);
}

/** A library's error message as part of one line: whitespace runs collapsed, at most 80 characters. */
function oneLine(m: string): string {
  const t = m.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}

/** What is at `path`: a file, a directory, something else, or nothing. */
function kindOf(path: string): 'file' | 'dir' | 'other' | 'none' {
  try {
    const st = statSync(path);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'none' : 'other';
  }
}

function readFile(path: string, what: string): Buffer {
  const k = kindOf(path);
  if (k === 'none') throw new ImageError(`${what}: not found`);
  if (k === 'dir') throw new ImageError(`${what}: is a directory, not a file`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ImageError(`${what}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const TOP_KEYS = ['iommu', 'registers', 'memory'];
const CHUNK_KEYS = ['pa', 'size', 'file', 'offset'];

/** Loads an SMMUv3 image directory into a fresh memory and model (an image of another IOMMU is an error). */
export function loadSmmuImage(
  dir: string,
  opts: ModelOptions = {},
): { mem: PhysMem; smmu: SMMUv3; json: ImageJson } {
  const { mem, model, json, arch } = loadImage(dir, opts);
  if (arch.name !== 'smmuv3')
    throw new ImageError(`image ${dir}: an image of ${shown(arch.name)}, expected "smmuv3"`);
  return { mem, smmu: model as SMMUv3, json };
}

/**
 * Loads an image directory of any architecture in the registry (src/arch/) into a fresh memory and
 * model: `"iommu"` names the architecture, its ID registers give the model's features, the other
 * registers are set as software would have left them.
 */
export function loadImage(
  dir: string,
  opts: ModelCreateOptions = {},
): { arch: IommuArch; mem: PhysMem; model: IommuModel; json: ImageJson } {
  const dk = kindOf(dir);
  if (dk === 'none') throw new ImageError(`image ${dir}: no such directory`);
  if (dk !== 'dir')
    throw new ImageError(`image ${dir}: not a directory (an image is a directory with image.json)`);
  const path = join(dir, 'image.json');
  if (kindOf(path) === 'none') throw new ImageError(`image ${dir}: no image.json`);
  const text = readFile(path, `image ${dir}: image.json`).toString('utf8');
  let json: ImageJson;
  try {
    json = JSON.parse(text) as ImageJson;
  } catch (e) {
    throw new ImageError(`image ${dir}: image.json is not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ImageError(
      `image ${dir}: image.json must be an object {"iommu", "registers", "memory"}, got ${shown(json)}`,
    );
  for (const k of Object.keys(json))
    if (!TOP_KEYS.includes(k)) throw new ImageError(`image ${dir}: image.json: unknown key ${shown(k)}`);
  const arch = typeof json.iommu === 'string' ? archByName(json.iommu) : undefined;
  if (!arch)
    throw new ImageError(
      `image ${dir}: "iommu" is ${shown(json.iommu)}, expected one of ${ARCHES.map((a) => `"${a.name}"`).join(', ')}`,
    );
  if (typeof json.registers !== 'object' || json.registers === null || Array.isArray(json.registers))
    throw new ImageError(`image ${dir}: "registers" must be an object {"NAME": "0x..."}`);
  if (!Array.isArray(json.memory)) throw new ImageError(`image ${dir}: "memory" must be an array of chunks`);

  const regs = new Map<string, bigint>();
  for (const [name, v] of Object.entries(json.registers)) {
    const d = arch.registerByName(name);
    if (!d) throw new ImageError(`image ${dir}: unknown register ${shown(name)}`);
    const val = hexField(v, `register ${name}`);
    if (val >= 1n << BigInt(d.size * 8))
      throw new ImageError(`image ${dir}: register ${name} = ${shown(v)} is wider than ${d.size * 8} bits`);
    regs.set(d.name, val);
  }
  const missing = arch.requiredRegisters.filter((n) => !regs.has(n));
  if (missing.length)
    throw new ImageError(
      `image ${dir}: ${arch.requiredRegisters.join(', ')} are required (missing ${missing.join(', ')})`,
    );

  const mem = new PhysMem();
  const files = new Map<string, Uint8Array>();
  json.memory.forEach((c, i) => {
    const what = `image ${dir}: memory[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c) || typeof c.file !== 'string')
      throw new ImageError(`${what}: needs "pa", "size" and "file"`);
    for (const k of Object.keys(c))
      if (!CHUNK_KEYS.includes(k)) throw new ImageError(`${what}: unknown key ${shown(k)}`);
    const pa = hexField(c.pa, `${what}.pa`);
    const size = hexField(c.size, `${what}.size`);
    const offset = c.offset === undefined ? 0n : hexField(c.offset, `${what}.offset`);
    if (c.file === '' || c.file.includes('..') || c.file.startsWith('/') || c.file.includes('\0'))
      throw new ImageError(`${what}: file ${shown(c.file)} must name a file inside the image directory`);
    let data = files.get(c.file);
    if (!data) {
      const raw = readFile(join(dir, c.file), `${what}: file ${shown(c.file)}`);
      try {
        data = c.file.endsWith('.gz') ? new Uint8Array(gunzipSync(raw)) : new Uint8Array(raw);
      } catch (e) {
        throw new ImageError(
          `${what}: ${shown(c.file)} is not valid gzip (${oneLine((e as Error).message)})`,
        );
      }
      files.set(c.file, data);
    }
    if (offset + size > BigInt(data.length))
      throw new ImageError(
        `${what}: offset ${shown(c.offset ?? 0)}+size ${shown(c.size)} is beyond the end of ${shown(c.file)} (${data.length} bytes)`,
      );
    if (pa % 8n !== 0n || size % 8n !== 0n || size === 0n)
      throw new ImageError(`${what}: pa and size must be non-zero multiples of 8`);
    if (pa + size > 1n << 52n)
      throw new ImageError(
        `${what}: ${shown(c.pa)}+${shown(c.size)} is beyond the 52-bit physical address space`,
      );
    try {
      const u8 = mem.addRegion(Number(pa), Number(size), `chunk${i}`);
      u8.set(data.subarray(Number(offset), Number(offset + size)));
    } catch (e) {
      throw new ImageError(`${what}: ${(e as Error).message}`);
    }
  });

  const model = arch.createModel(mem, regs, opts);
  for (const [name, v] of regs) model.loadRegister(name, v);
  return { arch, mem, model, json };
}

/**
 * Makes `dir` ready to hold an image: creates it if missing; an ImageError when it, or the files an
 * image has, exist as something else (a file where the directory goes, a directory where a file goes).
 */
export function prepareImageDir(dir: string): void {
  const k = kindOf(dir);
  if (k === 'file' || k === 'other') throw new ImageError(`image save ${dir}: exists and is not a directory`);
  if (k === 'none') {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of the path is a file' : (code ?? 'error');
      throw new ImageError(`image save ${dir}: cannot create the directory (${why})`);
    }
  }
  for (const f of ['image.json', 'memory.bin.gz'])
    if (kindOf(join(dir, f)) === 'dir' || kindOf(join(dir, f)) === 'other')
      throw new ImageError(`image save ${dir}: ${f} exists and is not a file`);
}

/** Writes an SMMUv3's memory and registers as an image directory. */
export function saveSmmuImage(dir: string, mem: PhysMem, smmu: SMMUv3): void {
  saveImage(dir, mem, smmu, archByName('smmuv3')!);
}

/** Writes memory regions and a model's registers as an image directory (one gzip file holding all regions). */
export function saveImage(dir: string, mem: PhysMem, model: IommuModel, arch: IommuArch): void {
  prepareImageDir(dir);
  const chunks: ImageChunk[] = [];
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const r of mem.regions()) {
    const bytes = mem.readBytes(r.base, r.size);
    chunks.push({
      pa: `0x${r.base.toString(16)}`,
      size: `0x${r.size.toString(16)}`,
      file: 'memory.bin.gz',
      offset: `0x${off.toString(16)}`,
    });
    parts.push(bytes);
    off += r.size;
  }
  const all = new Uint8Array(off);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const write = (f: string, data: Uint8Array | string): void => {
    try {
      writeFileSync(join(dir, f), data);
    } catch (e) {
      throw new ImageError(
        `image save ${dir}: cannot write ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  write('memory.bin.gz', gzipSync(all));
  const registers: Record<string, string> = {};
  for (const [name, v] of Object.entries(model.registerValues())) {
    const d = arch.registerByName(name)!;
    registers[name] = `0x${v.toString(16).padStart(d.size * 2, '0')}`;
  }
  const json: ImageJson = { iommu: arch.name, registers, memory: chunks };
  write('image.json', JSON.stringify(json, null, 1) + '\n');
}
