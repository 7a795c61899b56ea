import assert from "node:assert/strict";
import { decodeSafetensors, encodeSafetensors, type RawTensor, tensorF32 } from "./safetensors.ts";

// Written by the reference implementation (Python safetensors 0.8.0, Rust core):
// safetensors.numpy.save({"a": [1, -2.5] f32, "b": [[3], [0.5]] f32}, metadata={"format": "pt"}).hex()
const REFERENCE_HEX = "90000000000000007b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074227d2c2261223a7b2264" +
  "74797065223a22463332222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c385d7d2c2262223a7b2264747970" +
  "65223a22463332222c227368617065223a5b322c315d2c22646174615f6f666673657473223a5b382c31365d7d7d2020200000803f000020" +
  "c0000040400000003f";
const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/** A file with a hand-written header and `data` bytes after it. */
function file(header: unknown, data: number[] | Uint8Array, rawHeader?: string): Uint8Array {
  const h = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32 = (name: string, shape: number[], begin: number, end: number) => ({
  [name]: { dtype: "F32", shape, data_offsets: [begin, end] },
});

Deno.test("safetensors: the writer's bytes equal the reference implementation's, and they read back", () => {
  const ours = encodeSafetensors([
    { name: "a", shape: [2], data: new Float32Array([1, -2.5]) },
    { name: "b", shape: [2, 1], data: new Float32Array([3, 0.5]) },
  ], { format: "pt" });
  assert.deepEqual(ours, hex(REFERENCE_HEX));
  const { metadata, tensors } = decodeSafetensors(hex(REFERENCE_HEX), "reference");
  assert.deepEqual(metadata, { format: "pt" });
  assert.deepEqual([...tensors.keys()], ["a", "b"]);
  assert.deepEqual(tensors.get("b")!.shape, [2, 1]);
  assert.deepEqual([...tensorF32(tensors.get("a")!, "a", "reference")], [1, -2.5]);
  assert.deepEqual([...tensorF32(tensors.get("b")!, "b", "reference")], [3, 0.5]);
});

Deno.test("safetensors: layout rules: header padded to 8, order kept (integer-like names too), scalars, empty", () => {
  const bytes = encodeSafetensors([
    { name: "z", shape: [3], data: new Float32Array([1, 2, 3]) },
    { name: "10", shape: [], data: new Float32Array([7]) },
    { name: "e", shape: [0, 4], data: new Float32Array(0) },
  ]);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  assert.equal(bytes.length, 8 + n + 16);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.ok(header.indexOf('"z"') < header.indexOf('"10"'), header);
  const { tensors } = decodeSafetensors(bytes);
  assert.deepEqual([...tensorF32(tensors.get("10")!, "10", "-")], [7]);
  assert.deepEqual(tensors.get("e")!.shape, [0, 4]);
  assert.deepEqual(encodeSafetensors([]), file({}, [], "{}      "));
  assert.throws(
    () => encodeSafetensors([{ name: "a", shape: [2], data: new Float32Array(3) }]),
    /holds 2 values, got 3/,
  );
});

Deno.test("safetensors: malformed files are rejected with the file and tensor named", () => {
  const good = encodeSafetensors([{ name: "w", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]);
  const bad = (bytes: Uint8Array, re: RegExp) => assert.throws(() => decodeSafetensors(bytes, "x.safetensors"), re);
  bad(good.subarray(0, 5), /x.safetensors: is truncated: 5 bytes/);
  bad(good.subarray(0, 20), /is truncated: header of \d+ bytes but only 12 follow/);
  bad(good.subarray(0, good.length - 4), /tensor 'w' ends at byte 16 of a 12-byte data section \(truncated file\?\)/);
  bad(file(null, [], "{not json}"), /header is not UTF-8 JSON/);
  bad(file(null, [], "[1, 2]"), /header is not a JSON object/);
  bad(file({ w: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /'w' has unknown dtype "F33"/);
  bad(file({ w: { dtype: "F32", shape: [1] } }, []), /'w' needs dtype, shape and data_offsets/);
  bad(file({ w: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /needs dtype, shape/);
  bad(file(f32("w", [3], 0, 8), new Uint8Array(8)), /'w' F32 \[3\] needs 12 bytes but data_offsets span 8/);
  bad(file({ ...f32("a", [2], 0, 8), ...f32("b", [2], 4, 12) }, new Uint8Array(12)), /'b' \[4, 12\) overlaps 'a'/);
  bad(file({ ...f32("a", [1], 0, 4), ...f32("b", [1], 8, 12) }, new Uint8Array(12)), /4 bytes before tensor 'b'/);
  bad(file(f32("a", [1], 0, 4), new Uint8Array(8)), /4 bytes after the last tensor belong to no tensor/);
  bad(file(f32("a", [1], 4, 0), new Uint8Array(4)), /data_offsets \[4, 0\] that end before they begin/);
  bad(file({ __metadata__: { a: 1 } }, []), /__metadata__ must map strings to strings/);
  const f16: RawTensor = { dtype: "F16", shape: [2], bytes: new Uint8Array(4) };
  assert.throws(() => tensorF32(f16, "h", "m.safetensors"), /Tensor 'h' in m.safetensors has dtype F16; expected F32/);
});
