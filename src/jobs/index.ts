/**
 * Job files (`*.nomad.hcl`, `*.nomad`) against the attendee's cluster, as plain code: Nomad's
 * parse errors turned into editor ranges, validation results, and `nomad job plan`-style text.
 * The UI (src/ui/jobs) turns these into diagnostics, documents and prompts.
 */
export { isJobFile, jobBlockLine, problemsFromParseError, problemsFromValidation, type JobProblem } from './problems';
export { formatAllocMetrics, formatJobDiff, formatPlan, type PlanSummary } from './plan';
