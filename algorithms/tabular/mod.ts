/**
 * The tabular audit of DPO's limitations (PAPER.md §4.1, Theorem 4.1): re-exports only.
 *
 * A case (YAML, {@link parseCase}) is a reference policy and preference pairs per prompt; {@link runAudit} fits the
 * Bradley-Terry reward, finds PPO's KL-regularised target and DPO's loss minimisers, checks the user's candidate
 * policies against both, and runs gradient descent on tabular, linear and MLP policies; {@link auditMarkdown}
 * writes the report.
 * @module
 */
export { type AuditRecord, type PromptAudit, runAudit } from "./audit.ts";
export { type BtFit, btGap, fitBradleyTerry } from "./bt.ts";
export {
  type AuditSettings,
  type Candidate,
  coveredOf,
  defaultSettings,
  type Pair,
  pairsOf,
  type PromptCase,
  type TabularCase,
  winMatrix,
} from "./case.ts";
export { descend, dpoObjective, type GdRun, refCrossEntropy, runGd } from "./gd.ts";
export { auditMarkdown } from "./markdown.ts";
export { linearModel, mlpModel, type PolicyKind, type PolicyModel, tabularModel } from "./model.ts";
export { parseCase } from "./parse.ts";
export { dpoInfimumAttained, dpoLoss, dpoWitness, ppoTarget, rewardsForPpo } from "./policies.ts";
export { ppoReach, type Reach } from "./reach.ts";
