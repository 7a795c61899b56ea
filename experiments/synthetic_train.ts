/**
 * The GPU training of §4.2's synthetic study (experiments/synthetic.ts has the config and the driver): a reward
 * model fitted by Bradley-Terry, DPO, and PPO on MLPs over one-hot prompts. Every step is one encoder and one
 * submit; the GPU is read only at logging steps and at the end.
 *
 * - Reward model (Eq. 4): scores r_φ(x, ·) = MLP(onehot(x)) [8]; loss −mean log σ(r_φ(x, y_w) − r_φ(x, y_l)) over all
 *   pairs (full batch).
 * - DPO (Eq. 7): log π_θ(y|x) = log softmax(MLP(onehot(x)))[y]; loss −mean log σ(β(Δ_w − Δ_l)) over all pairs, with
 *   Δ = log π_θ − log π_ref (full batch).
 * - PPO on the learned reward: experiments/synthetic_ppo.ts.
 * @module
 */
import { bradleyTerryLoss } from "../kernels/bradley_terry.ts";
import { binary } from "../kernels/elementwise.ts";
import type { StepEncoder } from "../kernels/encoder.ts";
import { lastTokenGather, lastTokenScatter } from "../kernels/gather.ts";
import type { Gpu } from "../kernels/gpu.ts";
import { preferenceLoss } from "../kernels/preference_loss.ts";
import type { Rng } from "../kernels/rng.ts";
import type { Tensor } from "../kernels/tensor.ts";
import { logitsBackward, tokenLogprobs } from "../kernels/token_head.ts";
import { AdamW, type AdamWConfig } from "../nn/adamw.ts";
import { Mlp, type MlpConfig, mlpParamSpecs } from "../nn/mlp.ts";
import { ParamSet } from "../nn/params.ts";
import { oneHotRows, type SyntheticData } from "../testbeds/synthetic.ts";

/** Settings of one training phase. */
export interface PhaseSettings {
  steps: number;
  lr: number;
}

/** Settings of the PPO phase. */
export interface PpoSettings extends PhaseSettings {
  beta: number;
  samplesPerPrompt: number;
  minibatches: number;
  clipEps: number;
  baseline: "batch" | "prompt";
}

/** Called at logging steps with the step and the metrics to record; `table` is the network's [X, Y] output. */
export type Logger = (step: number, metrics: Record<string, number>, table: Float32Array) => Promise<void>;

/** A network and its optimizer. */
export interface Net {
  params: ParamSet;
  mlp: Mlp;
  opt: AdamW;
}

/** The tensors of one seed: the data on the GPU and one-hot inputs. */
export class SyntheticGpu {
  /** One-hot of every prompt, [X, X]: the rows of Figure 1's heat-maps. */
  readonly prompts: Tensor;
  /** One-hot prompt of each pair [P, X], and the chosen and rejected response ids, u32 [P]. */
  readonly pairPrompts: Tensor;
  readonly chosen: Tensor;
  readonly rejected: Tensor;
  readonly nx: number;
  readonly ny: number;
  readonly pairs: number;

  constructor(readonly gpu: Gpu, readonly data: SyntheticData) {
    this.nx = data.options.prompts;
    this.ny = data.options.responses;
    this.pairs = data.pairs.length;
    this.prompts = gpu.fromArray(oneHotRows([...Array(this.nx).keys()], this.nx), [this.nx, this.nx]);
    this.pairPrompts = gpu.fromArray(oneHotRows(data.pairs.map((p) => p.prompt), this.nx), [this.pairs, this.nx]);
    this.chosen = gpu.fromArray(Uint32Array.from(data.pairs, (p) => p.chosen), [this.pairs]);
    this.rejected = gpu.fromArray(Uint32Array.from(data.pairs, (p) => p.rejected), [this.pairs]);
  }

  /** A network on one-hot prompts with `ny` outputs, initialised from `rng` (the same stream gives the same net). */
  net(name: string, mlp: Omit<MlpConfig, "inputs" | "outputs">, rng: Rng, maxBatch: number, optim: AdamWConfig): Net {
    const cfg = { ...mlp, inputs: this.nx, outputs: this.ny };
    const params = new ParamSet(this.gpu, mlpParamSpecs(cfg), name);
    params.initialize(rng);
    return {
      params,
      mlp: new Mlp(params, cfg, Math.max(maxBatch, this.nx, this.pairs)),
      opt: new AdamW(params, optim),
    };
  }

  /** The network's outputs on every prompt, [X, Y] (one round trip). */
  async table(net: Net): Promise<Float32Array> {
    const enc = this.gpu.encoder("table");
    const out = enc.read(net.mlp.forward(enc, this.prompts));
    await enc.submit();
    return await out;
  }

  /** f32 [n] scratch tensors. */
  vec(n: number, label: string): Tensor<"f32"> {
    return this.gpu.tensor([n], "f32", label);
  }
}

/** Runs `steps` steps of `record`, awaiting the queue only at logging steps (and the last). */
export async function loop(
  s: SyntheticGpu,
  net: Net,
  steps: number,
  logEvery: number,
  record: (enc: StepEncoder, step: number) => Record<string, Tensor<"f32">>,
  summarise: (read: Record<string, Float32Array>) => Record<string, number>,
  log: Logger,
  tick: () => void,
): Promise<void> {
  for (let step = 1; step <= steps; step++) {
    const enc = s.gpu.encoder("synthetic step");
    const stats = record(enc, step);
    if (step % logEvery === 0 || step === steps) {
      const reads = Object.entries(stats).map(([k, t]) => [k, enc.read(t)] as const);
      const table = enc.read(net.mlp.forward(enc, s.prompts));
      await enc.submit();
      const got: Record<string, Float32Array> = {};
      for (const [k, p] of reads) got[k] = await p;
      await log(step, summarise(got), await table);
    } else await enc.submit();
    tick();
  }
}

/** Fits the reward model by Bradley-Terry on every pair (Eq. 4). */
export async function trainReward(
  s: SyntheticGpu,
  rm: Net,
  o: PhaseSettings,
  logEvery: number,
  log: Logger,
  tick: () => void,
) {
  const P = s.pairs;
  const [sc, sr, dc, dr, loss] = [
    s.vec(P, "rm.sc"),
    s.vec(P, "rm.sr"),
    s.vec(P, "rm.dc"),
    s.vec(P, "rm.dr"),
    s.vec(1, "rm.loss"),
  ];
  const stats = s.vec(5, "rm.stats"), dScores = s.gpu.tensor([P, s.ny], "f32", "rm.dscores");
  await loop(
    s,
    rm,
    o.steps,
    logEvery,
    (enc) => {
      enc.zero(rm.params.grads);
      const scores = rm.mlp.forward(enc, s.pairPrompts); // [P, Y]
      lastTokenGather(enc, scores, s.chosen, sc);
      lastTokenGather(enc, scores, s.rejected, sr);
      bradleyTerryLoss(enc, { chosen: sc, rejected: sr }, { loss, dChosen: dc, dRejected: dr, stats });
      lastTokenScatter(enc, dc, s.chosen, dScores, false);
      lastTokenScatter(enc, dr, s.rejected, dScores, true);
      rm.mlp.backward(enc, s.pairPrompts, dScores);
      rm.opt.step(enc, { lr: o.lr });
      return { stats };
    },
    ({ stats: v }) => ({ "rm/loss": v[0], "rm/accuracy": v[1], "rm/margin": v[2] }),
    log,
    tick,
  );
}

/** Log-probs of the chosen and rejected response of every pair under `net`: [P] each (one forward pass). */
function pairLogprobs(
  enc: StepEncoder,
  s: SyntheticGpu,
  net: Net,
  out: { lc: Tensor; lr: Tensor; lse: Tensor; ent: Tensor },
) {
  const logits = net.mlp.forward(enc, s.pairPrompts); // [P, Y]
  tokenLogprobs(enc, logits, s.chosen, out.lc, out.ent, out.lse);
  tokenLogprobs(enc, logits, s.rejected, out.lr, out.ent, out.lse);
  return logits;
}

/** DPO (Eq. 7) from the reference network's parameters (already copied into `policy`). */
export async function trainDpo(
  s: SyntheticGpu,
  policy: Net,
  ref: Net,
  o: PhaseSettings & { beta: number },
  logEvery: number,
  log: Logger,
  tick: () => void,
) {
  const P = s.pairs, v = (l: string) => s.vec(P, `dpo.${l}`);
  const refOut = { lc: v("ref_c"), lr: v("ref_r"), lse: v("ref_lse"), ent: v("ref_ent") };
  const cur = { lc: v("c"), lr: v("r"), lse: v("lse"), ent: v("ent") };
  const [dc, dr, loss, stats] = [v("dc"), v("dr"), s.vec(1, "dpo.loss"), s.vec(5, "dpo.stats")];
  const [dA, dB] = [s.gpu.tensor([P, s.ny], "f32", "dpo.dlogits"), s.gpu.tensor([P, s.ny], "f32", "dpo.dlogits2")];
  const enc0 = s.gpu.encoder("dpo reference");
  pairLogprobs(enc0, s, ref, refOut);
  await enc0.submit();
  await loop(
    s,
    policy,
    o.steps,
    logEvery,
    (enc) => {
      enc.zero(policy.params.grads);
      const logits = pairLogprobs(enc, s, policy, cur);
      const inputs = { policyChosen: cur.lc, policyRejected: cur.lr, refChosen: refOut.lc, refRejected: refOut.lr };
      preferenceLoss(enc, inputs, { loss, dChosen: dc, dRejected: dr, stats }, { beta: o.beta });
      logitsBackward(enc, logits, s.chosen, cur.lse, dc, dA);
      logitsBackward(enc, logits, s.rejected, cur.lse, dr, dB);
      binary(enc, "add", dA, dB, dA);
      policy.mlp.backward(enc, s.pairPrompts, dA);
      policy.opt.step(enc, { lr: o.lr });
      return { stats };
    },
    ({ stats: x }) => ({
      "losses/dpo": x[0],
      "dpo/chosen_reward": x[1],
      "dpo/rejected_reward": x[2],
      "dpo/margin": x[3],
      "dpo/accuracy": x[4],
    }),
    log,
    tick,
  );
}
