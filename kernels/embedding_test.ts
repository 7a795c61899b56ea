import assert from "node:assert/strict";
import { embeddingBackward, embeddingBackwardCpu, embeddingForward, embeddingForwardCpu } from "./embedding.ts";
import { fdGrad } from "./loss_testing.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

// [B, T, V, C]: C % 4 == 0 with B·T % 4 == 0 runs the vec4 backward; C > 64 spans several column blocks.
const SHAPES = [[1, 1, 1, 1], [2, 7, 11, 7], [3, 5, 29, 65], [1, 9, 3, 129], [2, 8, 200, 16], [3, 4, 13, 132], [
  1,
  12,
  5,
  4,
], [2, 6, 9, 130]];

gpuTest("embedding: forward and backward match the CPU reference on awkward shapes", async (gpu) => {
  for (const [b, t, v, c] of SHAPES) {
    const ctx = t + 2;
    const rng = new Rng(b * 100 + t * 10 + c);
    // Repeated tokens on purpose, so rows of dwte gather several positions.
    const toks = Uint32Array.from({ length: b * t }, () => rng.int(Math.min(v, 4)));
    const wte = randomArray(rng.split("wte"), v * c), wpe = randomArray(rng.split("wpe"), ctx * c);
    const dx = randomArray(rng.split("dx"), b * t * c), g0 = randomArray(rng.split("g0"), v * c);
    const p0 = randomArray(rng.split("p0"), ctx * c);
    const tokens = gpu.fromArray(toks, [b, t]);
    const x = gpu.tensor([b, t, c]);
    const [dwte, dwpe] = [gpu.fromArray(g0, [v, c]), gpu.fromArray(p0, [ctx, c])];
    const enc = gpu.encoder();
    embeddingForward(enc, tokens, gpu.fromArray(wte, [v, c]), gpu.fromArray(wpe, [ctx, c]), x);
    embeddingBackward(enc, tokens, gpu.fromArray(dx, [b, t, c]), dwte, dwpe);
    const [rx, rte, rpe] = [enc.read(x), enc.read(dwte), enc.read(dwpe)];
    await enc.submit();
    const label = `B${b} T${t} V${v} C${c}`;
    assertClose(await rx, embeddingForwardCpu(toks, wte, wpe, t, v, c), { atol: 0, rtol: 0, label: `x ${label}` });
    const [wantTe, wantPe] = embeddingBackwardCpu(toks, dx, g0, p0, t, c);
    assertClose(await rte, wantTe, { atol: 1e-5, label: `dwte ${label}` });
    assertClose(await rpe, wantPe, { atol: 1e-5, label: `dwpe ${label}` });
  }
});

gpuTest("embedding: an out-of-range token gives NaN and no gradient", async (gpu) => {
  const tokens = gpu.fromArray(new Uint32Array([0, 5, 1]), [1, 3]);
  const x = gpu.tensor([1, 3, 2]), dwte = gpu.tensor([3, 2]), dwpe = gpu.tensor([3, 2]);
  const enc = gpu.encoder();
  embeddingForward(enc, tokens, gpu.fromArray([1, 2, 3, 4, 5, 6], [3, 2]), gpu.tensor([3, 2]), x);
  embeddingBackward(enc, tokens, gpu.fromArray([1, 1, 1, 1, 1, 1], [1, 3, 2]), dwte, dwpe);
  const [rx, rg] = [enc.read(x), enc.read(dwte)];
  await enc.submit();
  const got = await rx;
  assert.deepEqual([got[0], got[1], got[4], got[5]], [1, 2, 3, 4]);
  assert.ok(Number.isNaN(got[2]) && Number.isNaN(got[3]));
  assert.deepEqual([...await rg], [1, 1, 1, 1, 0, 0]);
});

gpuTest("embedding: backward is deterministic and errors name the operand", async (gpu) => {
  const rng = new Rng(3);
  const tokens = gpu.fromArray(Uint32Array.from({ length: 64 }, () => rng.int(3)), [4, 16]);
  const dx = gpu.fromArray(randomArray(4, 64 * 33), [4, 16, 33]);
  const outs = [0, 1].map(() => [gpu.tensor([3, 33]), gpu.tensor([16, 33])]);
  const enc = gpu.encoder();
  for (const [a, b] of outs) embeddingBackward(enc, tokens, dx, a, b);
  const r = outs.flat().map((t) => enc.read(t));
  await enc.submit();
  assertBitwiseEqual(await r[0], await r[2], "dwte");
  assertBitwiseEqual(await r[1], await r[3], "dwpe");
  const e = gpu.encoder();
  assert.throws(() => embeddingForward(e, tokens, gpu.tensor([3, 33]), gpu.tensor([8, 33]), gpu.tensor([4, 16, 33])), {
    name: "RangeError",
    message: /wpe must be \[ctx ≥ T=16, C=33\], got \[8,33\]/,
  });
  assert.throws(() => embeddingForward(e, dx, gpu.tensor([3, 33]), gpu.tensor([16, 33]), dx), TypeError);
});

Deno.test("embedding: CPU backward matches finite differences of the CPU forward", () => {
  const [t, v, c] = [3, 4, 2], toks = [1, 3, 1, 0, 2, 1];
  const wte = randomArray(1, v * c), wpe = randomArray(2, t * c), dy = Float64Array.from(randomArray(3, 6 * c));
  const f = (te: ArrayLike<number>, pe: ArrayLike<number>) =>
    embeddingForwardCpu(toks, te, pe, t, v, c).reduce((s, x, i) => s + x * dy[i], 0);
  // f32 forward: a loose tolerance; the map is linear, so FD is exact up to rounding.
  const [gte, gpe] = embeddingBackwardCpu(toks, dy, new Float64Array(v * c), new Float64Array(t * c), t, c);
  assertClose(gte, fdGrad((x) => f(x, wpe), wte, 1e-2), { atol: 1e-4, label: "dwte vs FD" });
  assertClose(gpe, fdGrad((x) => f(wte, x), wpe, 1e-2), { atol: 1e-4, label: "dwpe vs FD" });
});
