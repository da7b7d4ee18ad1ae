/** The attendee side, as plain Node: sign-in, session, organizer API client, environment. */
export * from './errors';
export * from './inviteLink';
export * from './secretStore';
export * from './sessionStore';
export * from './environmentWatcher';
export * from './attendeeSession';
export * from './sshCommand';
export * from './sshFiles';
