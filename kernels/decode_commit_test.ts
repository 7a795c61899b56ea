import assert from "node:assert/strict";
import { type CommitParams, decodeCommit, decodeCommitCpu, decodeLayout } from "./decode_commit.ts";
import { Rng } from "./rng.ts";
import { assertBitwiseEqual, gpuTest } from "./testing.ts";

const A = (n: number) => Math.ceil(n / 64) * 64;
const EOS = 2, PAD = 0;

/** Initial state of a batch of prompts: tokens and targets PAD except the prompts, lastIndex = length − 1. */
function initial(lens: number[], t: number, v: number, minNew: number) {
  const lay = decodeLayout(lens.length, t), q = lay.seq;
  const seq = new Uint32Array(q.total),
    out = new Float32Array(lay.out.total),
    forbid = new Uint32Array(lens.length * v);
  lens.forEach((pl, b) => {
    for (let i = 0; i < pl; i++) seq[q.tokens + b * t + i] = 4 + ((b + i) % 3); // prompt tokens
    for (let i = 1; i < pl; i++) seq[q.targets + b * t + i - 1] = seq[q.tokens + b * t + i];
    seq[q.lastIndex + b] = pl - 1;
    forbid[b * v + EOS] = minNew > 0 ? 1 : 0; // any start: every step rewrites it
  });
  return { lay, seq, out, forbid };
}

/** Runs every step on the GPU in one encoder (each step's ids at its own aligned slot) and on the CPU reference. */
async function runBoth(
  gpu: Parameters<Parameters<typeof gpuTest>[1]>[0],
  lens: number[],
  t: number,
  c: Omit<CommitParams, "pos">,
  ids: number[][],
) {
  const b = lens.length, { lay, seq, out, forbid } = initial(lens, t, c.vocab, c.minNew);
  const cpu = { seq: seq.slice(), out: out.slice(), forbid: forbid.slice() };
  const steps = t - 1, s = A(b);
  const flatIds = new Uint32Array(steps * s), blogp = new Float32Array(steps * s), logp = new Float32Array(steps * s);
  for (let pos = 0; pos < steps; pos++) {
    for (let i = 0; i < b; i++) {
      [flatIds[pos * s + i], blogp[pos * s + i], logp[pos * s + i]] = [ids[pos][i], -pos - i / 8, -1 - i];
    }
  }
  const g = {
    seq: gpu.fromArray(seq),
    out: gpu.fromArray(out),
    forbid: gpu.fromArray(forbid, [b, c.vocab]),
  };
  const [idsT, blT, lpT, plen] = [
    gpu.fromArray(flatIds),
    gpu.fromArray(blogp),
    gpu.fromArray(logp),
    gpu.fromArray(Uint32Array.from(lens)),
  ];
  // The forbidden-token mask after every step, to compare step by step (each step's EOS rule matters).
  const fs = A(b * c.vocab), history = gpu.tensor([steps * fs], "u32"), cpuHistory = new Uint32Array(steps * fs);
  const enc = gpu.encoder();
  for (let pos = 0; pos < steps; pos++) {
    const v = <T extends typeof idsT | typeof blT>(x: T) => x.view(pos * s, [b]) as T;
    const inputs = { ids: v(idsT), behaviourLogp: v(blT), logp: v(lpT), promptLen: plen };
    decodeCommit(enc, inputs, g, lay, { ...c, pos });
    decodeCommitCpu(
      {
        ids: ids[pos],
        behaviourLogp: blogp.subarray(pos * s, pos * s + b),
        logp: logp.subarray(pos * s, pos * s + b),
        promptLen: lens,
      },
      cpu,
      lay,
      { ...c, pos },
    );
    enc.copy(g.forbid, history.view(pos * fs, [b * c.vocab]));
    cpuHistory.set(cpu.forbid, pos * fs);
  }
  const r = [enc.read(g.seq), enc.read(g.out), enc.read(g.forbid), enc.read(history)];
  await enc.submit();
  const [gs, go, gf, gh] = await Promise.all(r);
  assertBitwiseEqual(gh, cpuHistory, "forbidden-token mask after each step");
  const forbidAfter = (pos: number, row: number) => gh[pos * fs + row * c.vocab + c.eos];
  return { lay, cpu, gpu: { seq: gs as Uint32Array, out: go as Float32Array, forbid: gf as Uint32Array }, forbidAfter };
}

gpuTest("decode commit: GPU state equals the CPU reference over a whole generation", async (gpu) => {
  for (
    const [lens, t, v] of [[[1, 3, 2, 5, 3], 9, 11], [[2], 4, 5], [
      Array.from({ length: 70 }, (_, i) => 1 + (i % 6)),
      13,
      7,
    ]] as const
  ) {
    const rng = new Rng(t * 7 + v);
    // Random ids with EOS about one time in four, so rows end at different steps.
    const ids = Array.from({ length: t - 1 }, () => lens.map(() => (rng.uniform() < 0.25 ? EOS : 3 + rng.int(v - 3))));
    const r = await runBoth(gpu, [...lens], t, { vocab: v, eos: EOS, minNew: 1, maxNew: 5 }, ids);
    const label = `B${lens.length} T${t}`;
    assertBitwiseEqual(r.gpu.seq, r.cpu.seq, `seq ${label}`);
    assertBitwiseEqual(r.gpu.out, r.cpu.out, `out ${label}`);
    assertBitwiseEqual(r.gpu.forbid, r.cpu.forbid, `forbid ${label}`);
  }
});

gpuTest("decode commit: teacher forcing, EOS, PAD after EOS, maxNew and the min-new EOS mask by hand", async (gpu) => {
  // ids[pos][row]. Row 0: prompt of 2; its sample at pos 0 (9) falls on a prompt position and is ignored; then 7,
  // EOS: terminated after 2 tokens. Row 1: prompt of 1, samples 7, 8, 6 and is truncated at maxNew = 3.
  const ids = [[9, 7], [7, 8], [EOS, 6], [5, 5], [EOS, EOS], [5, 5]];
  const r = await runBoth(gpu, [2, 1], 7, { vocab: 10, eos: EOS, minNew: 1, maxNew: 3 }, ids);
  const { seq: q, out: o } = r.lay, s = r.gpu.seq, out = r.gpu.out, T = 7;
  const row = (
    buf: Uint32Array | Float32Array,
    at: number,
    b: number,
  ) => [...buf.subarray(at + b * T, at + (b + 1) * T)];
  assert.deepEqual(row(s, q.tokens, 0), [4, 5, 7, EOS, PAD, PAD, PAD]);
  assert.deepEqual(row(s, q.targets, 0), [5, 7, EOS, PAD, PAD, PAD, PAD]);
  assert.deepEqual(row(out, o.mask, 0), [0, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(row(s, q.tokens, 1), [5, 7, 8, 6, PAD, PAD, PAD]);
  assert.deepEqual(row(out, o.mask, 1), [1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual([...s.subarray(q.responseLen, q.responseLen + 2)], [2, 3]);
  assert.deepEqual([...s.subarray(q.lastIndex, q.lastIndex + 2)], [3, 3]);
  assert.deepEqual([...out.subarray(o.terminated, o.terminated + 2)], [1, 0]);
  assert.deepEqual(row(out, o.logp, 1).slice(0, 4), [-1 - 1, -1 - 1, -1 - 1, 0]);
  // minNew = 1: after the last step every row has at least one response token, so EOS is allowed.
  assert.deepEqual([r.gpu.forbid[EOS], r.gpu.forbid[10 + EOS]], [0, 0]);
  // minNew = 2: EOS is forbidden for the step that samples response token k while k < 2. After step pos the next
  // token is k = pos + 2 − promptLen: row 0 (prompt 2) k = pos, row 1 (prompt 1) k = pos + 1.
  const r2 = await runBoth(gpu, [2, 1], 7, { vocab: 10, eos: EOS, minNew: 2, maxNew: 3 }, ids);
  const history = (row: number) => Array.from({ length: 6 }, (_, pos) => r2.forbidAfter(pos, row));
  assert.deepEqual(history(0), [1, 1, 0, 0, 0, 0]);
  assert.deepEqual(history(1), [1, 0, 0, 0, 0, 0]);
});

gpuTest("decode commit: bad operands are RangeErrors naming them", (gpu) => {
  const lay = decodeLayout(2, 5);
  const u = (n: number) => gpu.tensor([n], "u32"), f = (n: number) => gpu.tensor([n]);
  const inputs = { ids: u(2), behaviourLogp: f(2), logp: f(2), promptLen: u(2) };
  const state = { seq: u(lay.seq.total), out: f(lay.out.total), forbid: gpu.tensor([2, 6], "u32") };
  const c = { pos: 0, vocab: 6, eos: 2, minNew: 0, maxNew: 3 };
  const enc = gpu.encoder();
  assert.throws(() => decodeCommit(enc, { ...inputs, ids: f(2) }, state, lay, c), /ids .* must be u32 \[B=2\]/);
  assert.throws(() => decodeCommit(enc, inputs, { ...state, seq: u(10) }, lay, c), /seq must be u32 with at least/);
  assert.throws(
    () => decodeCommit(enc, inputs, state, lay, { ...c, pos: 4 }),
    /pos must be an integer in \[0, T−1=4\)/,
  );
  assert.throws(() => decodeCommit(enc, inputs, state, lay, { ...c, eos: 6 }), /eos must be a token id/);
  assert.throws(() => decodeCommit(enc, inputs, state, lay, { ...c, maxNew: 0 }), /maxNew must be an integer >= 1/);
});
