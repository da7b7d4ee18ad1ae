export * from './api';
export * from './links';
