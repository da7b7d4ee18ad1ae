import type { StoredSession } from '../../attendee';
import type { SignInFlow } from './signInFlow';

/**
 * Open Kitchen: Sign In. Asks for the invite link; a link passed as the argument (walkthroughs,
 * tests inside VS Code) is used without asking. Returns the session's attendee and workshop.
 */
export function signInCommand(flow: SignInFlow) {
  return async (link?: unknown): Promise<Pick<StoredSession, 'attendee' | 'workshop'>> => {
    const s = await flow.promptAndRun(typeof link === 'string' ? link : undefined);
    return { attendee: s.attendee, workshop: s.workshop };
  };
}
