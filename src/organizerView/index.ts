/** The organizer's console, as plain modules: the connection and the live model of a workshop (its rows and texts: src/views/organizer.ts). */
export * from './connection';
export * from './model';
