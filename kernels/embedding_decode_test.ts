import assert from "node:assert/strict";
import { embeddingForwardCpu } from "./embedding.ts";
import { embeddingAt, embeddingAtCpu } from "./embedding_decode.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, gpuTest, randomArray } from "./testing.ts";

// [B, T, V, C]: C % 4 == 0 runs the vec4 build.
const SHAPES = [[1, 1, 1, 1], [3, 7, 11, 7], [65, 5, 29, 64], [2, 9, 3, 129], [7, 4, 13, 132]];

gpuTest("embedding at a position: bitwise the CPU reference and the full embedding's column", async (gpu) => {
  for (const [b, t, v, c] of SHAPES) {
    const rng = new Rng(b * 100 + c), ctx = t + 1;
    const toks = Uint32Array.from({ length: b * t }, () => rng.int(v));
    const wte = randomArray(rng.split("wte"), v * c), wpe = randomArray(rng.split("wpe"), ctx * c);
    const [tokens, wteT, wpeT] = [
      gpu.fromArray(toks, [b, t]),
      gpu.fromArray(wte, [v, c]),
      gpu.fromArray(wpe, [ctx, c]),
    ];
    const full = embeddingForwardCpu(toks, wte, wpe, t, v, c); // [B, T, C]
    for (const pos of new Set([0, t - 1, Math.floor(t / 2)])) {
      const x = gpu.tensor([b, c]);
      const enc = gpu.encoder();
      embeddingAt(enc, tokens, pos, wteT, wpeT, x);
      const r = enc.read(x);
      await enc.submit();
      const got = await r, label = `B${b} T${t} V${v} C${c} pos${pos}`;
      assertBitwiseEqual(got, embeddingAtCpu(toks, t, pos, wte, wpe, v, c), label);
      const column = new Float32Array(b * c);
      for (let i = 0; i < b; i++) column.set(full.subarray((i * t + pos) * c, (i * t + pos + 1) * c), i * c);
      assertBitwiseEqual(got, column, `${label} vs embeddingForward`);
    }
  }
});

gpuTest("embedding at a position: an out-of-range token gives NaN; bad operands are errors", async (gpu) => {
  const tokens = gpu.fromArray(new Uint32Array([0, 1, 9, 1]), [2, 2]);
  const wte = gpu.fromArray([1, 2, 3, 4], [2, 2]),
    wpe = gpu.fromArray([10, 20, 30, 40], [2, 2]),
    x = gpu.tensor([2, 2]);
  const enc = gpu.encoder();
  embeddingAt(enc, tokens, 0, wte, wpe, x);
  const r = enc.read(x);
  await enc.submit();
  const got = await r;
  assert.deepEqual([got[0], got[1]], [11, 22]);
  assert.ok(Number.isNaN(got[2]) && Number.isNaN(got[3]), `row of token 9 should be NaN, got ${got}`);
  const e = gpu.encoder();
  assert.throws(() => embeddingAt(e, tokens, 2, wte, wpe, x), /pos must be an integer in \[0, min\(T=2, ctx=2\)\)/);
  assert.throws(() => embeddingAt(e, tokens, 0, wte, wpe, gpu.tensor([3, 2])), /x .* must be \[B=2, C=2\]/);
  assert.throws(() => embeddingAt(e, gpu.tensor([2, 2]), 0, wte, wpe, x), /tokens .* must be u32/);
});
