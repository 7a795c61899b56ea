/**
 * A multi-layer perceptron on the GPU: inputs -> hidden layers with ReLU or GELU -> outputs (no output activation),
 * with parameters in a {@link ParamSet}, a forward pass, and a backward pass that accumulates into the ParamSet's
 * gradient buffer, all recorded into the caller's step encoder. §4.2 of the paper uses MLPs on one-hot prompts for
 * the policy and the reward model (PAPER.md §3.5).
 *
 * Layer l computes h_l = a_{l−1} W_l + b_l (W_l [in_l, out_l]) and a_l = act(h_l). ReLU is fused into the matmul
 * epilogue and its backward reads a_l (a_l > 0 exactly where h_l > 0); GELU keeps h_l for its backward. Backward per
 * layer: dW_l += a_{l−1}ᵀ dh_l, db_l += Σ_rows dh_l (kernels/reduce.ts colSum, fixed order), da_{l−1} = dh_l W_lᵀ,
 * dh_{l−1} = da_{l−1} · act'(h_{l−1}). Nothing is atomic, so two runs give bitwise equal results.
 *
 * Initialisation (our choice; the paper gives none): hidden weights N(0, 2/fan_in) (He), output weights
 * N(0, outputInitStd²) (default 1/fan_in), biases 0. A small `outputInitStd` makes the initial outputs nearly
 * constant, which is how experiments/synthetic.ts gets a near-uniform reference policy.
 *
 * @example
 * ```ts
 * const cfg = { inputs: 8, hidden: [64, 64], outputs: 8, activation: "relu" } as const;
 * const params = new ParamSet(gpu, mlpParamSpecs(cfg), "policy");
 * params.initialize(rng.split("init"));
 * const mlp = new Mlp(params, cfg, 64);
 * const enc = gpu.encoder("step");
 * const logits = mlp.forward(enc, x);         // x [N, 8] -> logits [N, 8]
 * // ... a loss writes dlogits [N, 8] ...
 * enc.zero(params.grads);
 * mlp.backward(enc, x, dlogits);              // params.grads += ∂loss/∂θ
 * ```
 * @module
 */
import type { StepEncoder } from "../kernels/encoder.ts";
import { unaryBackward, unaryDerivative } from "../kernels/elementwise.ts";
import { unary } from "../kernels/elementwise.ts";
import { geluCpu, matmul } from "../kernels/matmul.ts";
import { colSum } from "../kernels/reduce.ts";
import type { Tensor } from "../kernels/tensor.ts";
import type { ParamSet, ParamSpec } from "./params.ts";

/** The shape of an MLP. */
export interface MlpConfig {
  inputs: number;
  /** Widths of the hidden layers (may be empty: a linear model). */
  hidden: readonly number[];
  outputs: number;
  activation: "relu" | "gelu";
  /** Std of the output layer's initial weights; default 1/√fan_in. */
  outputInitStd?: number;
}

/** Widths of every layer's input and output: [[in_0, out_0], ...]. */
function layerDims(cfg: MlpConfig): [number, number][] {
  const widths = [cfg.inputs, ...cfg.hidden, cfg.outputs];
  return widths.slice(1).map((w, l) => [widths[l], w]);
}

function checkConfig(cfg: MlpConfig): void {
  for (
    const [name, n] of [
      ["inputs", cfg.inputs],
      ["outputs", cfg.outputs],
      ...cfg.hidden.map((h, i) => [`hidden[${i}]`, h]),
    ]
  ) {
    if (!(Number.isInteger(n) && (n as number) >= 1)) {
      throw new RangeError(`MLP ${name} must be an integer >= 1, got ${n}`);
    }
  }
  if (cfg.activation !== "relu" && cfg.activation !== "gelu") {
    throw new RangeError(`MLP activation must be "relu" or "gelu", got ${JSON.stringify(cfg.activation)}`);
  }
  if (cfg.outputInitStd !== undefined && !(cfg.outputInitStd >= 0 && Number.isFinite(cfg.outputInitStd))) {
    throw new RangeError(`MLP outputInitStd must be finite and >= 0, got ${cfg.outputInitStd}`);
  }
}

/** The ParamSet entries of an MLP: `${prefix}w${l}` [in_l, out_l] (decayed) and `${prefix}b${l}` [out_l]. */
export function mlpParamSpecs(cfg: MlpConfig, prefix = ""): ParamSpec[] {
  checkConfig(cfg);
  const dims = layerDims(cfg);
  return dims.flatMap(([fanIn, out], l): ParamSpec[] => {
    const last = l === dims.length - 1;
    const std = last ? (cfg.outputInitStd ?? Math.sqrt(1 / fanIn)) : Math.sqrt(2 / fanIn);
    return [
      { name: `${prefix}w${l}`, shape: [fanIn, out], init: { normal: std }, decay: true },
      { name: `${prefix}b${l}`, shape: [out], init: "zeros", decay: false },
    ];
  });
}

/** An MLP bound to its parameters and a workspace for batches of up to `maxBatch` rows. */
export class Mlp {
  readonly #dims: [number, number][];
  /** Pre-activations h_l of the hidden layers (GELU only). [maxBatch, out_l] each */
  readonly #pre: Tensor<"f32">[] = [];
  /** Activations a_l of the hidden layers, then the outputs. [maxBatch, out_l] each */
  readonly #act: Tensor<"f32">[] = [];
  /** Gradient w.r.t. a_l, turned in place into the gradient w.r.t. h_l. [maxBatch, out_l] each (hidden only) */
  readonly #grad: Tensor<"f32">[] = [];

  constructor(readonly params: ParamSet, readonly config: MlpConfig, readonly maxBatch: number, readonly prefix = "") {
    checkConfig(config);
    if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
      throw new RangeError(`MLP maxBatch must be an integer >= 1, got ${maxBatch}`);
    }
    this.#dims = layerDims(config);
    const gpu = params.gpu;
    this.#dims.forEach(([fanIn, out], l) => {
      const w = params.entry(`${prefix}w${l}`);
      if (w.shape[0] !== fanIn || w.shape[1] !== out) {
        throw new RangeError(`MLP: parameter '${prefix}w${l}' is [${w.shape}], the config needs [${fanIn}, ${out}]`);
      }
      const hidden = l < this.#dims.length - 1;
      this.#act.push(gpu.tensor([maxBatch, out], "f32", `${prefix}mlp.a${l}`));
      if (hidden && config.activation === "gelu") {
        this.#pre.push(gpu.tensor([maxBatch, out], "f32", `${prefix}mlp.h${l}`));
      }
      if (hidden) this.#grad.push(gpu.tensor([maxBatch, out], "f32", `${prefix}mlp.g${l}`));
    });
  }

  #rows(x: Tensor, what: string, width: number): number {
    if (x.shape.length !== 2 || x.shape[1] !== width) {
      throw new RangeError(`MLP ${what} ('${x.label}') must be [N, ${width}], got [${x.shape}]`);
    }
    const n = x.shape[0];
    if (!(n >= 1 && n <= this.maxBatch)) {
      throw new RangeError(`MLP ${what} has ${n} rows; this MLP's workspace takes 1 to ${this.maxBatch}`);
    }
    return n;
  }

  /**
   * Records the forward pass of x [N, inputs] and returns the outputs [N, outputs], a view of the workspace that the
   * next forward overwrites.
   */
  forward(enc: StepEncoder, x: Tensor): Tensor<"f32"> {
    const n = this.#rows(x, "input x", this.config.inputs);
    let a: Tensor = x;
    this.#dims.forEach(([, out], l) => {
      const w = this.params.get(`${this.prefix}w${l}`), bias = this.params.get(`${this.prefix}b${l}`);
      const y = this.#act[l].view(0, [n, out]);
      if (l === this.#dims.length - 1) matmul(enc, a, w, y, { bias });
      else if (this.config.activation === "relu") matmul(enc, a, w, y, { bias, activation: "relu" });
      else {
        const h = this.#pre[l].view(0, [n, out]);
        matmul(enc, a, w, h, { bias });
        unary(enc, "gelu", h, y);
      }
      a = y;
    });
    return this.#act[this.#dims.length - 1].view(0, [n, this.config.outputs]);
  }

  /**
   * Records the backward pass for the last {@link forward} (same x): adds ∂loss/∂θ to the ParamSet's gradients given
   * dOut = ∂loss/∂outputs [N, outputs]; writes ∂loss/∂x [N, inputs] into `dx` when given.
   */
  backward(enc: StepEncoder, x: Tensor, dOut: Tensor, dx?: Tensor): void {
    const n = this.#rows(x, "input x", this.config.inputs);
    if (this.#rows(dOut, "dOut", this.config.outputs) !== n) {
      throw new RangeError(`MLP dOut has ${dOut.shape[0]} rows but x has ${n}`);
    }
    if (dx && (dx.shape.length !== 2 || dx.shape[0] !== n || dx.shape[1] !== this.config.inputs)) {
      throw new RangeError(`MLP dx ('${dx.label}') must be [${n}, ${this.config.inputs}], got [${dx.shape}]`);
    }
    let dh = dOut;
    for (let l = this.#dims.length - 1; l >= 0; l--) {
      const [fanIn] = this.#dims[l];
      const input = l === 0 ? x : this.#act[l - 1].view(0, [n, fanIn]);
      const w = this.params.get(`${this.prefix}w${l}`);
      matmul(enc, input, dh, this.params.grad(`${this.prefix}w${l}`), { transA: true, beta: 1 });
      colSum(enc, dh, this.params.grad(`${this.prefix}b${l}`), { accumulate: true });
      if (l === 0) {
        if (dx) matmul(enc, dh, w, dx, { transB: true });
        break;
      }
      const g = this.#grad[l - 1].view(0, [n, fanIn]);
      matmul(enc, dh, w, g, { transB: true });
      const relu = this.config.activation === "relu";
      unaryBackward(enc, this.config.activation, relu ? input : this.#pre[l - 1].view(0, [n, fanIn]), g, g);
      dh = g;
    }
  }
}

/** An MLP's parameters on the CPU: weights w[l] ([in_l, out_l], row-major) and biases b[l]. */
export interface MlpCpuParams {
  w: ArrayLike<number>[];
  b: ArrayLike<number>[];
}

/** Reads an MLP's parameters out of a flat ParamSet buffer (e.g. `await ps.params.read()`). */
export function mlpCpuParams(params: ParamSet, flat: ArrayLike<number>, cfg: MlpConfig, prefix = ""): MlpCpuParams {
  const slice = (name: string) => {
    const e = params.entry(name);
    return Array.prototype.slice.call(flat, e.offset, e.offset + e.size) as number[];
  };
  const dims = layerDims(cfg);
  return { w: dims.map((_, l) => slice(`${prefix}w${l}`)), b: dims.map((_, l) => slice(`${prefix}b${l}`)) };
}

/** CPU reference of {@link Mlp.forward} in float64: outputs [N, outputs] and every layer's h and a. */
export function mlpForwardCpu(cfg: MlpConfig, p: MlpCpuParams, x: ArrayLike<number>, n: number) {
  const dims = layerDims(cfg);
  const pre: Float64Array[] = [], act: Float64Array[] = [];
  let a: ArrayLike<number> = x;
  dims.forEach(([fanIn, out], l) => {
    const h = new Float64Array(n * out);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < out; c++) {
        let s = p.b[l][c];
        for (let k = 0; k < fanIn; k++) s += a[r * fanIn + k] * p.w[l][k * out + c];
        h[r * out + c] = s;
      }
    }
    const last = l === dims.length - 1;
    const y = last ? h : h.map((v) => (cfg.activation === "relu" ? Math.max(v, 0) : geluCpu(v)));
    pre.push(h);
    act.push(y);
    a = y;
  });
  return { out: act[act.length - 1], pre, act };
}

/** CPU reference of {@link Mlp.backward} in float64: ∂loss/∂w[l], ∂loss/∂b[l] and ∂loss/∂x from dOut [N, outputs]. */
export function mlpBackwardCpu(
  cfg: MlpConfig,
  p: MlpCpuParams,
  x: ArrayLike<number>,
  n: number,
  dOut: ArrayLike<number>,
) {
  const dims = layerDims(cfg);
  const { pre, act } = mlpForwardCpu(cfg, p, x, n);
  const dw = dims.map(([i, o]) => new Float64Array(i * o)), db = dims.map(([, o]) => new Float64Array(o));
  let dh = Float64Array.from(dOut);
  let dx = new Float64Array(0);
  for (let l = dims.length - 1; l >= 0; l--) {
    const [fanIn, out] = dims[l];
    const input = l === 0 ? x : act[l - 1];
    const da = new Float64Array(n * fanIn);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < out; c++) {
        const g = dh[r * out + c];
        db[l][c] += g;
        for (let k = 0; k < fanIn; k++) {
          dw[l][k * out + c] += input[r * fanIn + k] * g;
          da[r * fanIn + k] += g * p.w[l][k * out + c];
        }
      }
    }
    if (l === 0) dx = da;
    else dh = da.map((v, i) => v * unaryDerivative(cfg.activation, pre[l - 1][i]));
  }
  return { dw, db, dx };
}
