import assert from "node:assert/strict";
import type { Gpu } from "../kernels/gpu.ts";
import { klPenaltyCpu } from "../kernels/grpo_kl.ts";
import { responseMask } from "../kernels/loss_testing.ts";
import { ppoActorLossCpu } from "../kernels/ppo_loss.ts";
import { Rng } from "../kernels/rng.ts";
import { assertBitwiseEqual, assertClose, gpuTest, randomArray } from "../kernels/testing.ts";
import { ppoValueLossCpu } from "../kernels/value_loss.ts";
import { AdamW } from "../nn/adamw.ts";
import { Gpt } from "../nn/gpt.ts";
import { gptPreset } from "../nn/gpt_config.ts";
import { CriticTrainer, PolicyTrainer } from "./ppo_update.ts";

const [B, T, M, V] = [12, 9, 3, 12];

function models(gpu: Gpu) {
  const cfg = gptPreset("xs", { vocab: V, d: 32, heads: 2, layers: 1, ctx: 16 });
  const actor = new Gpt(gpu, cfg, "actor"), ref = new Gpt(gpu, cfg, "ref");
  const critic = new Gpt(gpu, { ...cfg, lmHead: false, scalarHead: true }, "critic");
  actor.params.initialize(new Rng(1).split("actor"));
  ref.params.initialize(new Rng(1).split("ref"));
  critic.params.initialize(new Rng(1).split("critic"));
  return { actor, ref, critic };
}

/** A random rollout batch: tokens, next-token targets, a response mask, and per-token inputs of the losses. */
function batch(gpu: Gpu, seed: number) {
  const rng = new Rng(seed);
  const toks = Uint32Array.from({ length: B * T }, () => rng.int(V));
  const tgts = Uint32Array.from(toks, (_, i) => (i % T === T - 1 ? 0 : toks[i + 1]));
  const { mask } = responseMask(seed, B, T);
  const f = (a: Float32Array, label: string) => gpu.fromArray(a, [B, T], "f32", label);
  return {
    cpu: { mask, adv: randomArray(seed + 1, B * T, 2), ret: randomArray(seed + 2, B * T, 1) },
    tokens: gpu.fromArray(toks, [B, T], "u32", "tokens"),
    targets: gpu.fromArray(tgts, [B, T], "u32", "targets"),
    mask: f(mask, "mask"),
    f,
  };
}

/** Log-probs (actor) or values (critic) of the batch under the current parameters, and the entropy. */
async function forwardOf(model: Gpt, x: ReturnType<typeof batch>) {
  const ws = model.workspace(B, T, { grad: false });
  const enc = model.gpu.encoder("forward");
  model.forward(enc, ws, x.tokens);
  if (model.config.lmHead) model.tokenLogprobs(enc, ws, x.targets);
  const out = enc.read(model.config.lmHead ? ws.logp : ws.values!), ent = enc.read(ws.entropy);
  await enc.submit();
  return { out: await out, entropy: await ent };
}

/** The CPU stats of mini-batch m (rows m·B/M …) averaged over the M mini-batches, as readStats reports them. */
function meanOverMinibatches(f: (rows: (a: ArrayLike<number>) => Float64Array) => number[]): number[] {
  const per = Array.from(
    { length: M },
    (_, m) => f((a) => Float64Array.from(a).slice(m * (B / M) * T, (m + 1) * (B / M) * T)),
  );
  return per[0].map((_, i) => per.reduce((s, p) => s + p[i], 0) / M);
}

gpuTest(
  "PPO update: with lr 0 each contiguous mini-batch's actor stats match the CPU losses of its rows",
  async (gpu) => {
    const { actor, ref } = models(gpu);
    const x = batch(gpu, 3);
    const { out: logp, entropy } = await forwardOf(actor, x);
    const { out: logpRef } = await forwardOf(ref, x);
    // π_old a little off the current policy, so that ratios spread across the clip range.
    const logpOld = Float32Array.from(logp, (v, i) => v + 0.3 * randomArray(9, B * T)[i]);
    const before = await actor.params.params.read();
    const pt = new PolicyTrainer(actor, new AdamW(actor.params), ref, { batch: B, width: T, minibatches: M });
    const enc = gpu.encoder("update");
    pt.record(enc, {
      tokens: x.tokens,
      targets: x.targets,
      mask: x.mask,
      logpOld: x.f(logpOld, "logp_old"),
      advantages: x.f(x.cpu.adv, "adv"),
      logpRef: x.f(logpRef, "logp_ref"),
    }, { lr: () => 0, clipEps: 0.2, earlyStopRatio: null, refEmaEta: 0, klPenaltyBeta: 0.1 });
    const stats = pt.readStats(enc);
    await enc.submit();
    const got = await stats;
    const want = meanOverMinibatches((rows) => {
      const ppo = ppoActorLossCpu({
        logp: rows(logp),
        logpOld: rows(logpOld),
        advantages: rows(x.cpu.adv),
        mask: rows(x.cpu.mask),
      }, { clipEps: 0.2, earlyStopRatio: null });
      const m = rows(x.cpu.mask), e = rows(entropy);
      const ent = e.reduce((s, v, i) => s + v * m[i], 0) / m.reduce((s, v) => s + v, 0);
      return [...ppo.stats.slice(0, 4), ent, klPenaltyCpu(rows(logp), rows(logpRef), m, 0.1).stats[0]];
    });
    assertClose(
      [got.policyLoss, got.approxKl, got.clipFrac, got.ratioMean, got.entropy, got.klPenalty!],
      want,
      { atol: 2e-5, rtol: 1e-4, label: "policy loss, approx KL, clip frac, ratio, entropy, KL penalty" },
    );
    assert.ok(want[2] > 0, "some tokens are clipped, so the clip fraction is exercised");
    assertBitwiseEqual(await actor.params.params.read(), before, "actor parameters after lr-0 steps");
  },
);

gpuTest("PPO update: with lr 0 the critic's value-loss stats match the CPU loss of each mini-batch", async (gpu) => {
  const { critic } = models(gpu);
  const x = batch(gpu, 4);
  const { out: values } = await forwardOf(critic, x);
  const valuesOld = Float32Array.from(values, (v, i) => v + 0.4 * randomArray(10, B * T)[i]);
  const ct = new CriticTrainer(critic, new AdamW(critic.params), { batch: B, width: T, minibatches: M });
  const enc = gpu.encoder("critic update");
  ct.record(enc, {
    tokens: x.tokens,
    mask: x.mask,
    valuesOld: x.f(valuesOld, "v_old"),
    returns: x.f(x.cpu.ret, "returns"),
  }, { lr: () => 0, valueClipEps: 0.2 });
  const stats = ct.readStats(enc);
  await enc.submit();
  const got = await stats;
  const want = meanOverMinibatches((rows) => {
    const s = ppoValueLossCpu({
      values: rows(values),
      valuesOld: rows(valuesOld),
      returns: rows(x.cpu.ret),
      mask: rows(x.cpu.mask),
    }, { valueClipEps: 0.2 }).stats;
    return [s[0], s[1], s[2]];
  });
  assertClose([got.valueLoss, got.valueClipFrac, got.explainedVariance], want, {
    atol: 2e-5,
    rtol: 1e-4,
    label: "value loss, clip frac, explained variance",
  });
  assert.ok(want[1] > 0, "some values are clipped");
});

gpuTest("PPO update: reference EMA after each actor step: η = 0 keeps it, η = 1 makes it the actor", async (gpu) => {
  for (const eta of [0, 1]) {
    const { actor, ref } = models(gpu);
    const x = batch(gpu, 5);
    const { out: logp } = await forwardOf(actor, x);
    const ref0 = await ref.params.params.read();
    const pt = new PolicyTrainer(actor, new AdamW(actor.params), ref, { batch: B, width: T, minibatches: M });
    const enc = gpu.encoder("update");
    pt.record(enc, {
      tokens: x.tokens,
      targets: x.targets,
      mask: x.mask,
      logpOld: x.f(logp, "logp_old"),
      advantages: x.f(x.cpu.adv, "adv"),
    }, { lr: () => 1e-2, clipEps: 0.2, earlyStopRatio: 5, refEmaEta: eta });
    await enc.submit();
    const [a, r] = [await actor.params.params.read(), await ref.params.params.read()];
    if (eta === 0) assertBitwiseEqual(r, ref0, "reference with η = 0");
    else assertBitwiseEqual(r, a, "reference with η = 1");
    assert.notDeepEqual(a, ref0, "the actor moved");
  }
});

gpuTest("PPO update: bad shapes and missing inputs are errors naming them", (gpu) => {
  const { actor, critic } = models(gpu);
  assert.throws(
    () => new PolicyTrainer(actor, new AdamW(actor.params), null, { batch: 10, width: T, minibatches: 4 }),
    /batch of 10 is not a multiple of minibatches \(4\)/,
  );
  assert.throws(
    () => new CriticTrainer(critic, new AdamW(critic.params), { batch: 8, width: 0, minibatches: 2 }),
    /width must be a positive integer, got 0/,
  );
  const pt = new PolicyTrainer(actor, new AdamW(actor.params), null, { batch: B, width: T, minibatches: M });
  const x = batch(gpu, 6), z = x.f(new Float32Array(B * T), "z");
  const inputs = { tokens: x.tokens, targets: x.targets, mask: x.mask, logpOld: z, advantages: z };
  const enc = gpu.encoder("bad");
  const s = { lr: () => 0, clipEps: 0.2, earlyStopRatio: null, refEmaEta: 0 };
  assert.throws(() => pt.record(enc, inputs, { ...s, klPenaltyBeta: 0.1 }), /a KL penalty needs logpRef/);
  assert.throws(() => pt.record(enc, inputs, { ...s, refEmaEta: 0.1 }), /a reference EMA needs the reference model/);
});
