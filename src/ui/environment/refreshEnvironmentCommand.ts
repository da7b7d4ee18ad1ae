import { NotSignedInError } from '../../attendee';
import type { StackStatus } from '../../contract';
import type { Services } from '../services';

/**
 * Open Kitchen: Refresh Environment. Fetches the environment now; a failure shows in the view
 * (error node) and as one message. Returns the stack status, for tests inside VS Code.
 */
export function refreshEnvironmentCommand(services: Services) {
  return async (): Promise<{ status: StackStatus | undefined }> => {
    const state = await services.sessionContext.sync();
    if (state.kind !== 'signedIn') throw new NotSignedInError();
    const snapshot = await services.watcher.refresh();
    if (snapshot.state === 'error') throw new Error(`Could not load your environment: ${snapshot.message}`);
    return { status: snapshot.state === 'loaded' ? snapshot.environment.status : undefined };
  };
}
