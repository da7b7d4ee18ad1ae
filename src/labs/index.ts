/** Labs: content format and loader, declarative checks against the cluster, progress, solutions. */
export type {
  AllocClientStatus,
  AllocScope,
  ApplyAction,
  Check,
  CheckKind,
  CheckResult,
  CountSpec,
  JobStatusWanted,
  Lab,
  LabFault,
  LabLink,
  LabProblem,
  LabStep,
  LinkKind,
  NodeStatus,
  StepAction,
} from './types';
export { parseLab, formatProblem, slugify } from './parse';
export type { ParseLabOptions, ParseLabResult } from './parse';
export { loadLabs } from './loader';
export type { LoadLabsOptions, LoadLabsResult } from './loader';
export { parseCheck, parseActions, parseApply, checkKinds } from './schema';
export type { SchemaIssue } from './schema';
export { evaluateCheck, judgeImage, imagesInJobFile } from './checks';
export type { ImageVerdict } from './checks';
export { allocationFromNomad, jobFromNomad, memberFromConsul, nodeFromNomad, serviceInstanceFromConsul } from './reader';
export type {
  ClusterReader,
  JobFileVerdict,
  LabAllocation,
  LabConsulMember,
  LabHealthCheck,
  LabJob,
  LabNode,
  LabServiceInstance,
  LabTask,
  LabTaskState,
} from './reader';
export { createClusterReader, readWorkspaceText, workspacePath } from './clusterReader';
export type { ClusterReaderOptions } from './clusterReader';
export { createSolutionApplier, faultRequest, varFileText, waitForCheck } from './apply';
export type { SolutionApplierOptions, SolutionApplier, WaitForCheckOptions } from './apply';
export {
  currentStepId,
  emptyProgressStore,
  initialLabProgress,
  labProgress,
  labStatus,
  markHintShown,
  markSolutionShown,
  parseProgress,
  progressFromReports,
  progressStoreSchema,
  reconcile,
  recordCheck,
  resetLab,
  serializeProgress,
  startLab,
  stepStatus,
  summarizeProgress,
  toProgressRequest,
  withLabProgress,
} from './progress';
export type { LabProgress, LabStatus, ProgressReport, ProgressStore, ProgressUpdate, StepProgress, StepStatus } from './progress';
export { LabController, parseLabControllerState } from './controller';
export type { LabControllerOptions, LabControllerState, StepView } from './controller';
export { LabSession } from './labSession';
export type { LabSessionOptions, StepPassed } from './labSession';
