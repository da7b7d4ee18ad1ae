/**
 * Every id the extension shares with package.json: commands, views, context keys, settings.
 * test/unit/manifest.test.ts checks that package.json and this module agree both ways, so a
 * renamed command cannot silently leave a dead menu entry or an unregistered contribution.
 * Plain constants, no `vscode` import, so tests and plain modules may read them.
 */
export const CommandId = {
  signIn: 'openKitchen.signIn',
  signOut: 'openKitchen.signOut',
  refreshEnvironment: 'openKitchen.refreshEnvironment',
  copySshCommand: 'openKitchen.copySshCommand',
  copyValue: 'openKitchen.copyValue',
  showLog: 'openKitchen.showLog',
  openSettings: 'openKitchen.openSettings',
  connect: 'openKitchen.connect',
  disconnect: 'openKitchen.disconnect',
  retryConnection: 'openKitchen.retryConnection',
  connectionActions: 'openKitchen.connectionActions',
  openTerminal: 'openKitchen.openTerminal',
  openNomadUi: 'openKitchen.openNomadUi',
  openConsulUi: 'openKitchen.openConsulUi',
  showAllocationLogs: 'openKitchen.showAllocationLogs',
  restartAllocation: 'openKitchen.restartAllocation',
  stopAllocation: 'openKitchen.stopAllocation',
  stopJob: 'openKitchen.stopJob',
  openAllocationInNomadUi: 'openKitchen.openAllocationInNomadUi',
  filterAllocations: 'openKitchen.filterAllocations',
  clearAllocationFilter: 'openKitchen.clearAllocationFilter',
  showMoreAllocations: 'openKitchen.showMoreAllocations',
  validateJobFile: 'openKitchen.validateJobFile',
  planJobFile: 'openKitchen.planJobFile',
  runJobFile: 'openKitchen.runJobFile',
  stopJobFile: 'openKitchen.stopJobFile',
  startLab: 'openKitchen.startLab',
  openLabStep: 'openKitchen.openLabStep',
  checkStep: 'openKitchen.checkStep',
  showHint: 'openKitchen.showHint',
  showSolution: 'openKitchen.showSolution',
  nextStep: 'openKitchen.nextStep',
  resetLab: 'openKitchen.resetLab',
  simulateZoneOutage: 'openKitchen.simulateZoneOutage',
  restoreZone: 'openKitchen.restoreZone',
  repushImageTags: 'openKitchen.repushImageTags',
  enableDockerVolumes: 'openKitchen.enableDockerVolumes',
  connectOrganizer: 'openKitchen.connectOrganizer',
  disconnectOrganizer: 'openKitchen.disconnectOrganizer',
  switchWorkshop: 'openKitchen.switchWorkshop',
  refreshOrganizer: 'openKitchen.refreshOrganizer',
  importRoster: 'openKitchen.importRoster',
  provisionAllStacks: 'openKitchen.provisionAllStacks',
  sendInvites: 'openKitchen.sendInvites',
  destroyAllStacks: 'openKitchen.destroyAllStacks',
  retryStack: 'openKitchen.retryStack',
  destroyStack: 'openKitchen.destroyStack',
  resendInvite: 'openKitchen.resendInvite',
  copyInviteLink: 'openKitchen.copyInviteLink',
} as const;
export type CommandId = (typeof CommandId)[keyof typeof CommandId];

export const ViewContainerId = 'openKitchen';

export const ViewId = {
  environment: 'openKitchen.environment',
  cluster: 'openKitchen.cluster',
  allocations: 'openKitchen.allocations',
  labs: 'openKitchen.labs',
  organizer: 'openKitchen.organizer',
} as const;
export type ViewId = (typeof ViewId)[keyof typeof ViewId];

export const ContextKey = {
  /** A valid session is stored. */
  signedIn: 'openKitchen.signedIn',
  /** The last session ended (401 or expiry); the welcome text then says so. */
  sessionEnded: 'openKitchen.sessionEnded',
  /** Connected as an organizer (organizer token in secret storage): shows the Organizer view. */
  isOrganizer: 'openKitchen.isOrganizer',
  /** The stack's status (`pending`, `provisioning`, `ready`, …), or unset. */
  stackStatus: 'openKitchen.stackStatus',
  /** The cluster connection: `idle`, `connecting`, `connected`, `reconnecting`, `disconnected`, `failed`. */
  connection: 'openKitchen.connection',
  /** The Allocations view has a filter set. */
  allocationsFiltered: 'openKitchen.allocationsFiltered',
} as const;
export type ContextKey = (typeof ContextKey)[keyof typeof ContextKey];

export const SettingId = {
  apiUrl: 'openKitchen.apiUrl',
} as const;
export type SettingId = (typeof SettingId)[keyof typeof SettingId];

export const AuthProviderId = 'openKitchen';
export const AuthProviderLabel = 'Open Kitchen';

/** The one output channel. */
export const LogChannelName = 'Open Kitchen';
