/** The organizer's console, as plain modules: connection, live model, and what the view shows. */
export * from './connection';
export * from './model';
export * from './presentation';
