/**
 * Everything the sidebar shows, as plain data: the one node type, the context-value grammar,
 * the state rows, what each command accepts, the refresh manager, and one presenter per view.
 * src/ui only maps these to VS Code.
 */
export * from './node';
export * from './contextValue';
export * from './states';
export * from './tree';
export * from './refresh';
export * from './commandArgs';
export * from './environment';
export * from './cluster';
export * from './allocations';
export * from './labs';
export * from './organizer';
export * from './ids';
