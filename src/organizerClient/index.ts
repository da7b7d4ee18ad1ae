/** The one client of the organizer API (extension and CLI), its errors, the URL policy, roster files and stack runs. */
export * from './errors';
export * from './apiUrlPolicy';
export * from './client';
export * from './roster';
export * from './runs';
