/**
 * PPO of §4.2's synthetic study on the learned reward (Eqs. 2-4), on the pieces of experiments/synthetic_train.ts.
 * Each step, recorded into one encoder:
 * 1. rollout: k responses for each prompt, y ~ π_θ(·|x) (kernels/sample.ts, temperature 1, no truncation), with
 *    π_old = the untruncated log-prob the sampler reports;
 * 2. reward r = r_φ(x, y) − β(log π_old(y|x) − log π_ref(y|x)): the learned reward with ReaLHF's per-sample k1 KL
 *    penalty (PAPER.md §8.3);
 * 3. advantage = reward minus a baseline: the batch mean with whitening (ReaLHF's advantage normalisation, §8.5), or
 *    each prompt's mean and std (GRPO). A one-step bandit has no future, so there is no critic: with γ = λ = 1, GAE's
 *    advantage is the return minus the value, and the baseline plays the value's role;
 * 4. the clipped surrogate (ε 0.2, §8.7) over `minibatches` interleaved mini-batches, one AdamW step each.
 * @module
 */
import { axpy, binary } from "../kernels/elementwise.ts";
import { lastTokenGather } from "../kernels/gather.ts";
import { grpoAdvantages } from "../kernels/grpo.ts";
import { ppoActorLoss } from "../kernels/ppo_loss.ts";
import type { Rng } from "../kernels/rng.ts";
import { sample } from "../kernels/sample.ts";
import { logitsBackward, tokenLogprobs } from "../kernels/token_head.ts";
import { whiten } from "../kernels/whiten.ts";
import { oneHotRows } from "../testbeds/synthetic.ts";
import { type Logger, loop, type Net, type PpoSettings, type SyntheticGpu } from "./synthetic_train.ts";

/** PPO against the learned reward `rm` with a KL penalty to `ref` (see the module doc). */
export async function trainPpo(
  s: SyntheticGpu,
  policy: Net,
  ref: Net,
  rm: Net,
  o: PpoSettings,
  sampleRng: Rng,
  logEvery: number,
  log: Logger,
  tick: () => void,
) {
  const k = o.samplesPerPrompt, B = s.nx * k, M = o.minibatches;
  // Rollout rows are prompt-major (rows x·k … x·k + k − 1 hold prompt x), as GRPO's groups need.
  const rowPrompt = Array.from({ length: B }, (_, b) => Math.floor(b / k));
  const X = s.gpu.fromArray(oneHotRows(rowPrompt, s.nx), [B, s.nx], "f32", "ppo.x");
  const col = (l: string) => s.gpu.tensor([B, 1], "f32", `ppo.${l}`);
  const [ids, blogp, logpOld, logpRef, score, kl, reward, adv] = [
    s.gpu.tensor([B], "u32", "ppo.ids"),
    ...["blogp", "logp_old", "logp_ref", "score", "kl", "reward", "adv"].map(col),
  ];
  const [logpNew, ent, lse, entRef, lseRef, dlogp] = ["logp", "ent", "lse", "ent_ref", "lse_ref", "dlogp"].map(col);
  const ones = s.gpu.fromArray(new Float32Array(B).fill(1), [B, 1], "f32", "ppo.ones");
  // Mini-batch m holds the rows b with b mod M = m, so each one sees every prompt (a loss mask selects them).
  const masks = Array.from(
    { length: M },
    (_, m) =>
      s.gpu.fromArray(Float32Array.from({ length: B }, (_, b) => (b % M === m ? 1 : 0)), [B, 1], "f32", `ppo.mb${m}`),
  );
  const [loss, stats, advStats] = [s.vec(1, "ppo.loss"), s.vec(6, "ppo.stats"), s.vec(3, "ppo.adv_stats")];
  const dlogits = s.gpu.tensor([B, s.ny], "f32", "ppo.dlogits");
  // The reference and the reward model are frozen: their [B, Y] outputs are computed once.
  const refLogits = s.gpu.tensor([B, s.ny], "f32", "ppo.ref_logits");
  const rmScores = s.gpu.tensor([B, s.ny], "f32", "ppo.rm_scores");
  const enc0 = s.gpu.encoder("ppo setup");
  enc0.copy(ref.mlp.forward(enc0, X), refLogits);
  enc0.copy(rm.mlp.forward(enc0, X), rmScores);
  await enc0.submit();
  await loop(
    s,
    policy,
    o.steps,
    logEvery,
    (enc, step) => {
      // Rollout: sample y ~ π_θ(·|x) for every row; π_old = the untruncated T = 1 log-prob (sample.ts).
      const rollLogits = policy.mlp.forward(enc, X);
      sample(enc, rollLogits, { ids, behaviourLogp: blogp, logp: logpOld }, {
        key: sampleRng,
        counter: (step - 1) * B,
      });
      tokenLogprobs(enc, refLogits, ids, logpRef, entRef, lseRef);
      lastTokenGather(enc, rmScores, ids, score);
      // r = r_φ(x, y) − β (log π_old − log π_ref)   (Eq. 2 with ReaLHF's per-sample k1 KL penalty)
      binary(enc, "sub", logpOld, logpRef, kl);
      enc.copy(score, reward);
      axpy(enc, -o.beta, kl, reward);
      if (o.baseline === "batch") whiten(enc, reward, ones, advStats, { out: adv });
      else grpoAdvantages(enc, { rewards: reward.reshape([B]), mask: ones }, adv, { groupSize: k });
      for (let m = 0; m < M; m++) {
        enc.zero(policy.params.grads);
        const logits = policy.mlp.forward(enc, X);
        tokenLogprobs(enc, logits, ids, logpNew, ent, lse);
        ppoActorLoss(enc, { logp: logpNew, logpOld, advantages: adv, mask: masks[m] }, { loss, dlogp, stats }, {
          clipEps: o.clipEps,
        });
        logitsBackward(enc, logits, ids, lse, dlogp, dlogits);
        policy.mlp.backward(enc, X, dlogits);
        policy.opt.step(enc, { lr: o.lr });
      }
      return { score, kl, ent, stats };
    },
    (r) => ({
      "charts/reward_mean": mean(r.score),
      "charts/kl_ref": mean(r.kl),
      "charts/entropy": mean(r.ent),
      "losses/policy": r.stats[0],
      "losses/approx_kl": r.stats[1],
      "losses/clipfrac": r.stats[2],
    }),
    log,
    tick,
  );
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}
