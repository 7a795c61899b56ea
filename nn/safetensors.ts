/**
 * A reader and writer of the safetensors format (https://huggingface.co/docs/safetensors), so that checkpoints can be
 * inspected from other ecosystems: `safetensors.numpy.load_file("model.safetensors")` in Python reads what
 * {@link encodeSafetensors} writes.
 *
 * The format: 8 bytes little-endian u64 N; N bytes of a UTF-8 JSON header
 * `{"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}` padded
 * with spaces so that the data starts at a multiple of 8; then the raw little-endian data, where each tensor occupies
 * [begin, end) of the data section. As the reference (Rust) implementation requires, the tensors' byte ranges tile
 * the data section exactly: sorted by offset they start at 0, each begins where the previous ends, and the last ends
 * at the end of the file. This writer emits tensors in the order given, so its output is a pure function of its input
 * (a checkpoint saved, loaded and saved again is byte-identical).
 *
 * @example
 * ```ts
 * const bytes = encodeSafetensors([{ name: "w", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]);
 * const { tensors } = decodeSafetensors(bytes, "inline");
 * tensorF32(tensors.get("w")!, "w", "inline"); // Float32Array [1, 2, 3, 4]
 * ```
 * @module
 */

/** Bytes per element of every dtype the format defines; anything else is rejected as unknown. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** Headers larger than this are refused, as the reference implementation does (100 MB). */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A tensor to write. */
export interface F32Tensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** A tensor as read: its dtype, shape, and a view of its raw little-endian bytes. */
export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** Encodes f32 tensors (in the order given) and string metadata as one safetensors file. */
export function encodeSafetensors(tensors: readonly F32Tensor[], metadata: Record<string, string> = {}): Uint8Array {
  // The header is written by hand, not by JSON.stringify of an object, because JS objects put integer-like keys
  // first; a tensor named "0" would otherwise move and break the guarantee that order follows the input.
  const parts: string[] = [];
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new TypeError(`Safetensors metadata '${k}' must be a string, got ${typeof v}`);
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || names.has(t.name)) {
      throw new RangeError(`Safetensors tensor name '${t.name}' is reserved or used twice`);
    }
    names.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(
        `Safetensors tensor '${t.name}': shape [${t.shape}] holds ${n} values, got ${t.data.length}`,
      );
    }
    const entry = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * n] };
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify(entry)}`);
    offset += 4 * n;
  }
  let header = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const h = new Uint8Array(padded).fill(0x20);
    h.set(header);
    header = h;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const t of tensors) {
    out.set(f32Bytes(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/** The little-endian bytes of f32 data. */
function f32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  data.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

/**
 * Decodes a safetensors file. Every structural fault is an error naming `file` and the tensor: a truncated file, a
 * header that is not a JSON object, an unknown dtype, a shape that does not match the byte range, overlapping,
 * gapped or out-of-range offsets. Tensors are returned in the order of their data.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  file = "<bytes>",
): { metadata: Record<string, string>; tensors: Map<string, RawTensor> } {
  const fail = (msg: string) => new RangeError(`Safetensors file ${file}: ${msg}`);
  if (bytes.length < 8) throw fail(`is truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER) throw fail(`header length ${n} is over the limit of ${MAX_HEADER} bytes`);
  if (8 + n > bytes.length) throw fail(`is truncated: header of ${n} bytes but only ${bytes.length - 8} follow`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new TypeError(`Safetensors file ${file}: header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new TypeError(`Safetensors file ${file}: header is not a JSON object`);
  }
  const data = bytes.subarray(8 + n);
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      const ok = typeof v === "object" && v !== null && Object.values(v).every((x) => typeof x === "string");
      if (!ok) throw new TypeError(`Safetensors file ${file}: __metadata__ must map strings to strings`);
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const isInts = (x: unknown, len?: number) =>
      Array.isArray(x) && (len === undefined || x.length === len) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (typeof e !== "object" || e === null || !isInts(e.shape) || !isInts(e.data_offsets, 2)) {
      throw new TypeError(
        `Safetensors file ${file}: tensor '${name}' needs dtype, shape and data_offsets [begin, end]`,
      );
    }
    if (typeof e.dtype !== "string" || !(e.dtype in SAFETENSORS_DTYPES)) {
      throw new TypeError(`Safetensors file ${file}: tensor '${name}' has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    const [begin, end] = e.data_offsets as number[];
    const shape = e.shape as number[];
    const want = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[e.dtype];
    if (end < begin) throw fail(`tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end > data.length) {
      throw fail(`tensor '${name}' ends at byte ${end} of a ${data.length}-byte data section (truncated file?)`);
    }
    if (end - begin !== want) {
      throw fail(`tensor '${name}' ${e.dtype} [${shape}] needs ${want} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: e.dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const [i, e] of entries.entries()) {
    if (e.begin < at) throw fail(`tensor '${e.name}' [${e.begin}, ${e.end}) overlaps '${entries[i - 1].name}'`);
    if (e.begin > at) throw fail(`${e.begin - at} bytes before tensor '${e.name}' belong to no tensor`);
    at = e.end;
  }
  if (at !== data.length) throw fail(`${data.length - at} bytes after the last tensor belong to no tensor`);
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: data.subarray(e.begin, e.end) });
  }
  return { metadata, tensors };
}

/** The values of an F32 tensor as a fresh Float32Array; another dtype is a TypeError naming the tensor and file. */
export function tensorF32(t: RawTensor, name: string, file: string): Float32Array {
  if (t.dtype !== "F32") throw new TypeError(`Tensor '${name}' in ${file} has dtype ${t.dtype}; expected F32`);
  const out = new Float32Array(t.bytes.length / 4);
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(t.bytes);
  else {
    const dv = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  }
  return out;
}
