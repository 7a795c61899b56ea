import assert from "node:assert/strict";
import type { Gpu } from "./gpu.ts";
import { Rng } from "./rng.ts";
import { sample, sampleCpu, type SampleCpuOptions } from "./sample.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "./testing.ts";

const KEY: [number, number] = [0x1234567, 0x89abcdef];

/** Runs the GPU sampler on logits [rows, v] (mask given as a CPU array) and reads the three outputs back. */
async function gpuSample(gpu: Gpu, logits: Float32Array, v: number, o: SampleCpuOptions) {
  const rows = logits.length / v;
  const x = gpu.fromArray(logits, [rows, v]);
  const ids = gpu.tensor([rows], "u32"), behaviourLogp = gpu.tensor([rows]), logp = gpu.tensor([rows]);
  const mask = o.mask ? gpu.fromArray(Uint32Array.from(o.mask), [rows, v]) : undefined;
  const enc = gpu.encoder("sample test");
  sample(enc, x, { ids, behaviourLogp, logp }, { ...o, mask });
  const r = [enc.read(ids), enc.read(behaviourLogp), enc.read(logp)] as const;
  await enc.submit();
  return { ids: await r[0], behaviourLogp: await r[1], logp: await r[2] };
}

/** The same row repeated `rows` times. */
function repeatRow(row: ArrayLike<number>, rows: number): Float32Array {
  const out = new Float32Array(rows * row.length);
  for (let r = 0; r < rows; r++) out.set(Array.from(row), r * row.length);
  return out;
}

/** Upper χ² quantile for `df` degrees of freedom at standard-normal z (Wilson-Hilferty; z = 4.75 is p ≈ 1e-6). */
function chiSquareBound(df: number, z = 4.75): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * The distribution a row is sampled from, written out independently of sample.ts: softmax(z / T), restricted to
 * the top k by rank, then to the shortest rank-ordered prefix whose mass reaches p, renormalised.
 */
function keptDistribution(row: ArrayLike<number>, o: SampleCpuOptions): Float64Array {
  const v = row.length, t = o.temperature ?? 1;
  const order = [...Array(v).keys()].sort((a, b) => row[b] - row[a] || a - b);
  const top = order.slice(0, o.topK ? o.topK : v);
  const w = (j: number) => Math.exp((row[j] - row[order[0]]) / t);
  const wk = top.reduce((s, j) => s + w(j), 0);
  const kept: number[] = [];
  let cum = 0;
  for (const j of top) {
    if (cum >= (o.topP ?? 1) * wk) break;
    kept.push(j);
    cum += w(j);
  }
  const probs = new Float64Array(v);
  for (const j of kept) probs[j] = w(j) / cum;
  return probs;
}

const SHAPES: [number, number][] = [[1, 1], [7, 7], [33, 65], [17, 129], [9, 300]];

gpuTest("sample: greedy is the argmax of the CPU reference, ties to the lowest index", async (gpu) => {
  for (const [rows, v] of SHAPES) {
    const logits = randomArray(rows * 31 + v, rows * v, 3);
    // Exact ties at the maximum in every other row: the lower index must win.
    for (let r = 0; r < rows; r += 2) {
      if (v < 3) continue;
      const hi = 10 + r;
      logits[r * v + (r % (v - 1)) + 1] = hi;
      logits[r * v + v - 1] = hi;
    }
    for (const o of [{ greedy: true }, { temperature: 0 }]) {
      const opts = { key: KEY, counter: 0, ...o };
      const got = await gpuSample(gpu, logits, v, opts);
      const want = sampleCpu(logits, v, opts);
      assert.deepEqual([...got.ids], [...want.ids], `greedy ids ${rows}x${v} ${JSON.stringify(o)}`);
      assert.ok(got.behaviourLogp.every((x) => x === 0), "greedy behaviour logp is 0 (a point mass)");
      assertClose(got.logp, want.logp, { atol: 1e-5, label: `greedy logp ${rows}x${v}` });
    }
  }
});

gpuTest("sample: ids and log-probs equal the CPU reference's on the same RNG values", async (gpu) => {
  const configs: Omit<SampleCpuOptions, "key" | "counter">[] = [
    {},
    { temperature: 0.7 },
    { topK: 5 },
    { topP: 0.8 },
    { topK: 10, topP: 0.9, temperature: 1.3 },
    { forbidToken: 0 },
  ];
  let ambiguous = 0, total = 0, worst = 0;
  for (const [rows, v] of SHAPES) {
    const logits = randomArray(rows + 1000 * v, rows * v, 2);
    for (const [i, c] of configs.entries()) {
      if (c.forbidToken !== undefined && v === 1) continue;
      const opts = { key: KEY, counter: 1000 * i + v, ...c };
      const got = await gpuSample(gpu, logits, v, opts);
      const want = sampleCpu(logits, v, opts);
      for (let r = 0; r < rows; r++) {
        total++;
        // f32 rounding may flip a draw only when u lands within ~1e-6 of a CDF boundary (reported by margin).
        if (want.margin[r] < 1e-5) ambiguous++;
        else assert.equal(got.ids[r], want.ids[r], `row ${r} of ${rows}x${v} ${JSON.stringify(c)}`);
      }
      const same = [...Array(rows).keys()].filter((r) => got.ids[r] === want.ids[r]);
      const pick = (a: ArrayLike<number>) => same.map((r) => a[r]);
      const rep = assertClose(pick(got.behaviourLogp), pick(want.behaviourLogp), {
        atol: 2e-5,
        rtol: 1e-5,
        label: `behaviour logp ${rows}x${v} ${JSON.stringify(c)}`,
      });
      assertClose(pick(got.logp), pick(want.logp), { atol: 2e-5, label: `logp ${rows}x${v} ${JSON.stringify(c)}` });
      worst = Math.max(worst, rep.maxAbs);
    }
  }
  assert.ok(ambiguous <= total / 100, `${ambiguous} of ${total} draws were within 1e-5 of a boundary`);
  console.log(`  ${total} draws, ${ambiguous} near a boundary, max |Δ behaviour logp| ${worst.toExponential(2)}`);
});

gpuTest("sample: empirical frequencies match the sampled distribution (chi-square, p ≈ 1e-6)", async (gpu) => {
  const rows = 20000;
  const cases: [string, Float32Array, SampleCpuOptions][] = [
    ["V=7, T=1", randomArray(7, 7, 1.5), { key: KEY, counter: 0 }],
    ["V=65, T=0.8, top-k 20", randomArray(65, 65, 1.5), { key: KEY, counter: 5, temperature: 0.8, topK: 20 }],
    ["V=129, top-p 0.5", randomArray(129, 129, 2), { key: [7, 9], counter: 3, topP: 0.5 }],
  ];
  for (const [name, row, o] of cases) {
    const v = row.length;
    const got = await gpuSample(gpu, repeatRow(row, rows), v, o);
    const probs = keptDistribution(row, o);
    const counts = new Float64Array(v);
    for (const id of got.ids) counts[id]++;
    let chi2 = 0, df = -1;
    for (let j = 0; j < v; j++) {
      if (probs[j] === 0) {
        assert.equal(counts[j], 0, `${name}: token ${j} has probability 0 but was drawn ${counts[j]} times`);
        continue;
      }
      df++;
      chi2 += (counts[j] - rows * probs[j]) ** 2 / (rows * probs[j]);
    }
    const bound = chiSquareBound(Math.max(df, 1));
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-9, `${name}: kept probabilities sum to 1`);
    assert.ok(chi2 < bound, `${name}: chi-square ${chi2.toFixed(1)} over ${df} df exceeds ${bound.toFixed(1)}`);
    console.log(`  ${name}: chi-square ${chi2.toFixed(1)} on ${df} df (bound ${bound.toFixed(1)})`);
    // And the behaviour log-prob of each draw is the log of that probability.
    assertClose(got.behaviourLogp, Float64Array.from(got.ids, (id) => Math.log(probs[id])), {
      atol: 2e-5,
      label: `${name} behaviour logp`,
    });
  }
});

gpuTest("sample: top-k never emits a token outside the top k", async (gpu) => {
  for (const [rows, v, k] of [[2000, 129, 5], [500, 7, 1], [500, 65, 64]]) {
    const logits = randomArray(v * k, rows * v, 1);
    const got = await gpuSample(gpu, logits, v, { key: KEY, counter: 0, topK: k, temperature: 3 });
    const seen = new Set<number>();
    for (let r = 0; r < rows; r++) {
      const z = logits.subarray(r * v, r * v + v);
      const id = got.ids[r];
      const rank = z.reduce((n, x, j) => n + (x > z[id] || (x === z[id] && j < id) ? 1 : 0), 0);
      assert.ok(rank < k, `row ${r}: token ${id} has rank ${rank}, outside the top ${k}`);
      seen.add(rank);
    }
    assert.equal(seen.size, Math.min(k, v), `every rank below ${k} is drawn at least once (at temperature 3)`);
  }
});

gpuTest("sample: top-p keeps the smallest rank-ordered set whose mass reaches p", async (gpu) => {
  const probs = [0.05, 0.4, 0.1, 0.3, 0.15]; // ranks: 1, 3, 4, 2, 0
  const row = Float32Array.from(probs, Math.log);
  const cases: [number, number[]][] = [[0.2, [1]], [0.65, [1, 3]], [0.75, [1, 3, 4]], [0.9, [1, 2, 3, 4]], [1, [
    0,
    1,
    2,
    3,
    4,
  ]]];
  for (const [p, keep] of cases) {
    const got = await gpuSample(gpu, repeatRow(row, 4000), 5, { key: KEY, counter: 77, topP: p });
    const drawn = [...new Set(got.ids)].sort();
    assert.deepEqual(drawn, keep, `top-p ${p}: drew ${drawn}, expected the set ${keep}`);
    const mass = keep.reduce((s, j) => s + probs[j], 0);
    assertClose(got.behaviourLogp, Float64Array.from(got.ids, (j) => Math.log(probs[j] / mass)), {
      atol: 1e-5,
      label: `top-p ${p} behaviour logp`,
    });
    assertClose(got.logp, Float64Array.from(got.ids, (j) => Math.log(probs[j])), { atol: 1e-5, label: "logp" });
  }
});

gpuTest("sample: the same key and counter give bitwise identical samples; another counter does not", async (gpu) => {
  const rows = 256, v = 65;
  const logits = randomArray(3, rows * v, 2);
  const o = { key: new Rng(42).split("rollout"), counter: 4096, topP: 0.9, temperature: 0.9 };
  const a = await gpuSample(gpu, logits, v, o);
  const b = await gpuSample(gpu, logits, v, o);
  assert.deepEqual([...a.ids], [...b.ids]);
  assertBitwiseEqual(a.behaviourLogp, b.behaviourLogp, "behaviour logp");
  assertBitwiseEqual(a.logp, b.logp, "logp");
  const c = await gpuSample(gpu, logits, v, { ...o, counter: 4096 + rows });
  const differ = [...a.ids].filter((id, r) => id !== c.ids[r]).length;
  assert.ok(differ > rows / 4, `another counter changed only ${differ} of ${rows} draws`);
});

gpuTest(
  "sample: forbidden tokens (mask, forbidToken) are never drawn; a fully forbidden row gives V and NaN",
  async (gpu) => {
    const rows = 400, v = 7;
    const rng = new Rng(5);
    const logits = randomArray(11, rows * v, 1);
    const mask = Uint32Array.from({ length: rows * v }, () => (rng.uniform() < 0.5 ? 1 : 0));
    mask.fill(1, 0, v); // row 0: everything forbidden
    for (const greedy of [false, true]) {
      const o = { key: KEY, counter: 0, mask, forbidToken: 2, greedy };
      const got = await gpuSample(gpu, logits, v, o);
      const want = sampleCpu(logits, v, o);
      assert.equal(got.ids[0], v, "fully forbidden row gives the sentinel V");
      assert.ok(Number.isNaN(got.behaviourLogp[0]) && Number.isNaN(got.logp[0]), "and NaN log-probs");
      for (let r = 1; r < rows; r++) {
        if (got.ids[r] === v) {
          assert.ok([...mask.subarray(r * v, r * v + v)].every((m, j) => m !== 0 || j === 2), `row ${r} had a token`);
          continue;
        }
        assert.equal(mask[r * v + got.ids[r]], 0, `row ${r}: drew masked token ${got.ids[r]}`);
        assert.notEqual(got.ids[r], 2, `row ${r}: drew the forbidden token`);
        if (want.margin[r] > 1e-5) assert.equal(got.ids[r], want.ids[r], `row ${r} differs from the reference`);
      }
    }
  },
);

gpuTest("sample: bad input throws a clear error naming the field", (gpu) => {
  const x = gpu.tensor([4, 7]);
  const out = { ids: gpu.tensor([4], "u32"), behaviourLogp: gpu.tensor([4]), logp: gpu.tensor([4]) };
  const enc = gpu.encoder("bad");
  const key = KEY;
  assert.throws(() => sample(enc, x, out, { key, counter: 0, temperature: -1 }), RangeError);
  assert.throws(() => sample(enc, x, out, { key, counter: 0, topP: 0 }), /topP must be in \(0, 1\]/);
  assert.throws(() => sample(enc, x, out, { key, counter: 0, topK: 1.5 }), /topK must be an integer/);
  assert.throws(() => sample(enc, x, out, { key, counter: 0, forbidToken: 7 }), /forbidToken .* \[0, 7\)/);
  assert.throws(() => sample(enc, x, out, { key, counter: 2 ** 32 - 2 }), /counter/);
  assert.throws(() => sample(enc, x, { ...out, ids: gpu.tensor([4]) }, { key, counter: 0 }), TypeError);
  assert.throws(() => sample(enc, x, { ...out, logp: gpu.tensor([5]) }, { key, counter: 0 }), /logp .* 4 values/);
  assert.throws(() => sample(enc, x, out, { key, counter: 0, mask: gpu.tensor([4, 6], "u32") }), /mask/);
  assert.throws(() => sample(enc, gpu.tensor([7]), out, { key, counter: 0 }), /\[R, V\]/);
});
