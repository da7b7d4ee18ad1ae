// Public surface of the jobspec module: HCL2 job files → Nomad API job JSON, the canonical
// defaults Nomad fills in, Nomad-worded validation, and the Docker image catalogue the lab
// cluster's docker driver model resolves images against.
export * from './types';
export { parseJobHCL } from './parse';
export type { ParseJobOptions } from './parse';
export { JobParseError } from './diagnostics';
export type { JobDiagnostic } from './diagnostics';
export { parseGoDuration } from './decode';
export { canonicalizeJob, defaultRestartPolicy, defaultReschedulePolicy, defaultUpdateStrategy } from './canonicalize';
export type { CanonicalizeOptions } from './canonicalize';
export { validateJob, formatMultiError, formatWarnings, goDuration } from './validate';
export type { JobValidation } from './validate';
export { dockerImageCatalogue, resolveDockerImage, parseImageRef, imageDigest, dockerErrors, DockerRegistryModel, hostPathVolumes } from './catalogue';
export type { CatalogueImage, CatalogueVersion, CatalogueAlias, ImageBehaviour, ImageResolution, ImageRef } from './catalogue';
