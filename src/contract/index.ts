export * from './api';
export * from './links';
export * from './stacks';
