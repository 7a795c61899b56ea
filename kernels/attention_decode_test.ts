import assert from "node:assert/strict";
import { attentionForwardCpu } from "./attention.ts";
import { attentionDecode, attentionDecodeCpu } from "./attention_decode.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

const A = (n: number) => Math.ceil(n / 64) * 64;

// [B, heads, hd, Tc, pos]: hd % 4 == 0 runs the vec4 build, else the scalar one; pos = Tc − 1 fills the cache.
const CASES = [[1, 1, 1, 1, 0], [3, 2, 7, 9, 8], [2, 3, 4, 65, 40], [4, 4, 16, 33, 32], [1, 2, 8, 130, 129], [
  5,
  1,
  5,
  7,
  3,
]];

gpuTest("attention decode: matches the CPU reference on awkward shapes, and writes only cache row pos", async (gpu) => {
  for (const [b, heads, hd, tc, pos] of CASES) {
    const c = heads * hd, rng = new Rng(b * 1000 + hd * 10 + pos);
    const qkv = randomArray(rng.split("qkv"), b * 3 * c, 2);
    const k0 = randomArray(rng.split("k"), b * heads * tc * hd), v0 = randomArray(rng.split("v"), b * heads * tc * hd);
    const kc = gpu.fromArray(k0, [b, heads, tc, hd]), vc = gpu.fromArray(v0, [b, heads, tc, hd]);
    const y = gpu.tensor([b, c]);
    const enc = gpu.encoder();
    attentionDecode(enc, heads, { qkv: gpu.fromArray(qkv, [b, 3 * c]), kCache: kc, vCache: vc, y }, pos);
    const [ry, rk, rv] = [enc.read(y), enc.read(kc), enc.read(vc)];
    await enc.submit();
    const [wk, wv] = [Float64Array.from(k0), Float64Array.from(v0)];
    const want = attentionDecodeCpu(qkv, wk, wv, b, c, heads, tc, pos);
    const label = `B${b} H${heads} hd${hd} Tc${tc} pos${pos}`;
    const r = assertClose(await ry, want, { atol: 2e-6, rtol: 1e-5, label: `y ${label}` });
    console.log(`${label}: max |Δy| ${r.maxAbs.toExponential(2)}`);
    // The appended rows are copies (bitwise), and every other row is untouched.
    assertBitwiseEqual(await rk, Float32Array.from(wk), `kCache ${label}`);
    assertBitwiseEqual(await rv, Float32Array.from(wv), `vCache ${label}`);
  }
});

gpuTest("attention decode: positions 0..T−1 decoded in turn equal the full causal attention", async (gpu) => {
  for (const [b, heads, hd, t] of [[2, 2, 4, 12], [3, 3, 7, 9]]) {
    const c = heads * hd, rng = new Rng(hd * 31 + t);
    const qkv = randomArray(rng, b * t * 3 * c, 2); // [B, T, 3C]
    // Each position's rows [B, 3C] and output [B, C] at their own 256-byte-aligned slots.
    const [sq, sy] = [A(b * 3 * c), A(b * c)];
    const steps = new Float32Array(t * sq);
    for (let pos = 0; pos < t; pos++) {
      for (let bi = 0; bi < b; bi++) {
        steps.set(qkv.subarray((bi * t + pos) * 3 * c, (bi * t + pos + 1) * 3 * c), pos * sq + bi * 3 * c);
      }
    }
    const qkvSteps = gpu.fromArray(steps), ys = gpu.tensor([t * sy]);
    const kc = gpu.tensor([b, heads, t, hd]), vc = gpu.tensor([b, heads, t, hd]);
    const enc = gpu.encoder();
    for (let pos = 0; pos < t; pos++) {
      const o = { qkv: qkvSteps.view(pos * sq, [b, 3 * c]), kCache: kc, vCache: vc, y: ys.view(pos * sy, [b, c]) };
      attentionDecode(enc, heads, o, pos);
    }
    const got = enc.read(ys);
    await enc.submit();
    const y = await got, want = attentionForwardCpu(qkv, b, t, c, heads).y; // [B, T, C]
    const gathered = new Float32Array(b * t * c);
    for (let pos = 0; pos < t; pos++) {
      for (let bi = 0; bi < b; bi++) {
        gathered.set(y.subarray(pos * sy + bi * c, pos * sy + (bi + 1) * c), (bi * t + pos) * c);
      }
    }
    const r = assertClose(gathered, want, { atol: 2e-6, rtol: 1e-5, label: `B${b} hd${hd} T${t}` });
    console.log(`B${b} H${heads} hd${hd} T${t}: max |Δy| vs full attention ${r.maxAbs.toExponential(2)}`);
  }
});

gpuTest("attention decode: bad shapes and positions are RangeErrors naming the operand", (gpu) => {
  const qkv = gpu.tensor([2, 12]), kc = gpu.tensor([2, 2, 5, 2]), vc = gpu.tensor([2, 2, 5, 2]), y = gpu.tensor([2, 4]);
  const enc = gpu.encoder();
  assert.throws(() => attentionDecode(enc, 2, { qkv, kCache: kc, vCache: vc, y }, 5), /pos must be .* \[0, Tc=5\)/);
  assert.throws(() => attentionDecode(enc, 3, { qkv, kCache: kc, vCache: vc, y }, 0), /multiple of heads/);
  const bad = gpu.tensor([2, 2, 5, 3]);
  assert.throws(() => attentionDecode(enc, 2, { qkv, kCache: bad, vCache: vc, y }, 0), /kCache .* must be \[B=2, H=2/);
  assert.throws(
    () => attentionDecode(enc, 2, { qkv, kCache: kc, vCache: vc, y: gpu.tensor([2, 5]) }, 0),
    /y .* \[B=2, C=4\]/,
  );
});
