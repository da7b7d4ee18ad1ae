/**
 * The stack state machine as data, shared by the organizer service (which moves stacks only
 * along these transitions) and its clients (the Organizer view, the CLI, the attendee's
 * Environment view), so both sides agree on what a state means and when a run is over.
 *
 *   pending ──provision──▶ queued ──start──▶ provisioning ──built──▶ ready
 *      ▲                    │  ▲                 │  │ └──cancelled──▶ cancelled
 *      └──unqueue───────────┘  └──interrupted────┘  └──failed──────▶ failed
 *   any but destroyed ──destroy──▶ destroying ──destroyed──▶ destroyed
 */
import { z } from 'zod';

export const StackStatus = z.enum(['pending', 'queued', 'provisioning', 'ready', 'failed', 'cancelled', 'destroying', 'destroyed']);
export type StackStatus = z.infer<typeof StackStatus>;

export interface StackStateInfo {
  /** One word for a row or a count: `Ready`, `Queued`. */
  label: string;
  /** What the state means, for a tooltip. */
  meaning: string;
  /** The organizer service works on it: its status changes without anyone asking (watch it). */
  moving: boolean;
}

export const STACK_STATES: Record<StackStatus, StackStateInfo> = {
  pending: { label: 'Pending', meaning: 'not built: waiting for the organizer to provision it', moving: false },
  queued: { label: 'Queued', meaning: 'waiting for a free slot to be built', moving: true },
  provisioning: { label: 'Provisioning', meaning: 'being built (or a cancelled build is being cleaned up)', moving: true },
  ready: { label: 'Ready', meaning: 'built and answering', moving: false },
  failed: { label: 'Failed', meaning: 'the last build or teardown failed; the message says why', moving: false },
  cancelled: { label: 'Cancelled', meaning: 'the organizer cancelled its build; what it started was removed', moving: false },
  destroying: { label: 'Destroying', meaning: 'being torn down', moving: true },
  destroyed: { label: 'Destroyed', meaning: 'torn down', moving: false },
};

/**
 * Every move a stack can make: from which states, to which, and the words it shows (`null`:
 * the mover says, e.g. a provider's progress or an error). The organizer service refuses any
 * other move (`assertTransition`).
 */
export const STACK_TRANSITIONS = {
  /** The organizer asked for a build. */
  provision: { from: ['pending', 'failed', 'cancelled', 'destroyed', 'destroying', 'provisioning'], to: 'queued', message: 'Queued for provisioning.' },
  /** Destroy asked of a stack that was never built: it is only taken off the queue. */
  unqueue: { from: ['queued', 'pending', 'cancelled'], to: 'pending', message: 'Not provisioned.' },
  /** A build got its slot. */
  start: { from: ['queued'], to: 'provisioning', message: 'Provisioning started.' },
  /** A step of the build (the provider's progress, a retry, a cancel under way). */
  progress: { from: ['provisioning'], to: 'provisioning', message: null },
  built: { from: ['provisioning'], to: 'ready', message: 'Ready.' },
  buildFailed: { from: ['queued', 'provisioning'], to: 'failed', message: null },
  /** Cancel of a queued build, or the end of cleaning up a running one. */
  cancel: { from: ['queued', 'provisioning'], to: 'cancelled', message: 'Cancelled by the organizer.' },
  /** The organizer stopped while building: the build starts again after the restart. */
  interrupted: { from: ['provisioning'], to: 'queued', message: 'Interrupted by an organizer restart; provisioning again.' },
  /** A ready stack the provider no longer finds (checked after a restart). */
  lost: { from: ['ready'], to: 'failed', message: null },
  /** The organizer asked for a teardown (a running build is stopped first). */
  destroy: { from: ['pending', 'queued', 'provisioning', 'ready', 'failed', 'cancelled', 'destroying'], to: 'destroying', message: 'Queued for teardown.' },
  teardownProgress: { from: ['destroying'], to: 'destroying', message: null },
  destroyed: { from: ['destroying'], to: 'destroyed', message: 'Destroyed.' },
  destroyFailed: { from: ['destroying'], to: 'failed', message: null },
} as const satisfies Record<string, { from: readonly StackStatus[]; to: StackStatus; message: string | null }>;

export type StackTransition = keyof typeof STACK_TRANSITIONS;

/** The state a transition leads to from `from`, or an error naming the illegal move. */
export function assertTransition(from: StackStatus, transition: StackTransition): StackStatus {
  const t = STACK_TRANSITIONS[transition];
  if (!(t.from as readonly StackStatus[]).includes(from)) {
    throw new Error(`a stack cannot go from ${from} by "${transition}" (allowed from: ${t.from.join(', ')})`);
  }
  return t.to;
}

// ---------------------------------------------------------------- runs

/** A run is what one organizer request set going: provision, destroy or cancel of some stacks. */
export type RunKind = 'provision' | 'destroy' | 'cancel';

/** The states a run's request leaves its stacks in when it has work to do for them. */
export const RUN_STARTS: Record<RunKind, readonly StackStatus[]> = {
  provision: ['queued', 'provisioning'],
  destroy: ['destroying', 'provisioning'],
  cancel: ['provisioning'],
};

/**
 * The one rule for "is this stack done, as far as the run goes?", used by the CLI's `--wait`
 * and VS Code's progress notifications alike. A provision is done with a stack when the service
 * no longer works on it (ready, failed, cancelled; pending or destroyed when someone took it off
 * the queue or tore it down meanwhile). A destroy is done when the stack is destroyed, failed,
 * or was only taken off the queue (pending); not at `ready`, which a build aborted for the
 * teardown may pass through. A cancel is done once the build has stopped and what it started
 * is cleaned up.
 */
export function runEnded(kind: RunKind, status: StackStatus): boolean {
  switch (kind) {
    case 'provision':
      return !STACK_STATES[status].moving;
    case 'destroy':
      return status === 'destroyed' || status === 'failed' || status === 'pending';
    case 'cancel':
      return status !== 'provisioning' && status !== 'queued';
  }
}
