/**
 * Context values: how a tree row tells package.json's menus what it is. The grammar:
 *
 *   contextValue = kind [ ":" state ] *( " " facet )
 *   facet        = name [ ":" value ]
 *
 * `kind` is one of ROW_KINDS below (each belongs to the views listed there), `state` one of its
 * states, and each facet one of its facets: `alloc:running stopping`, `node:ready ineligible
 * draining`, `attendee:ready invite:sent`, `detail copyable`. A menu matches with a regex
 * anchored at the kind, e.g. `viewItem =~ /^alloc:(running|pending)/`; rows that are not
 * allocations never start with `alloc:`. test/unit/manifest.test.ts draws every value the
 * grammar allows per view and checks that each menu's command accepts the rows it matches.
 */
import { StackStatus } from '../contract';
import { ViewId } from './ids';

type View = (typeof ViewId)[keyof typeof ViewId];

interface KindSpec {
  views: readonly View[];
  states?: readonly string[];
  /** Facet names; a facet with values is written `name:value`. */
  facets?: Readonly<Record<string, readonly string[] | true>>;
}

const ALLOC_STATES = ['pending', 'running', 'complete', 'failed', 'lost', 'unknown'] as const;
const STACK_STATES = [...StackStatus.options, 'none'] as const;

export const ROW_KINDS = {
  /** A row that explains an empty or unreachable view (see ./states.ts). */
  state: { views: Object.values(ViewId), states: ['loading', 'empty', 'failed', 'waiting', 'disconnected', 'connecting', 'reconnecting'] },
  /** A value to copy (an address, a fingerprint). */
  detail: { views: [ViewId.environment, ViewId.organizer], facets: { copyable: true } },
  workshop: { views: [ViewId.environment] },
  stack: { views: [ViewId.environment], states: StackStatus.options },
  bastion: { views: [ViewId.environment], facets: { copyable: true } },
  /** A heading with children (Cluster, DNS, Nomad servers, a datacenter, Consul's members). */
  section: { views: [ViewId.environment, ViewId.cluster] },
  server: { views: [ViewId.cluster], states: ['alive', 'leaving', 'left', 'failed', 'none'], facets: { leader: true } },
  zone: { views: [ViewId.cluster] },
  node: { views: [ViewId.cluster], states: ['initializing', 'ready', 'down', 'disconnected'], facets: { ineligible: true, draining: true } },
  consul: { views: [ViewId.cluster], states: ['loading', 'ready', 'not-running', 'error', 'disabled'] },
  'consul-member': { views: [ViewId.cluster], states: ['alive', 'leaving', 'left', 'failed', 'none'], facets: { role: ['server', 'client'] } },
  service: { views: [ViewId.cluster], states: ['passing', 'warning', 'critical'] },
  job: { views: [ViewId.allocations], states: ['pending', 'running', 'dead'], facets: { stopped: true } },
  group: { views: [ViewId.allocations] },
  alloc: { views: [ViewId.allocations], states: ALLOC_STATES, facets: { stopping: true } },
  more: { views: [ViewId.allocations] },
  /** A job or allocation that left the cluster while its row was on screen. */
  gone: { views: [ViewId.allocations] },
  lab: { views: [ViewId.labs], states: ['locked', 'not-started', 'in-progress', 'done'], facets: { optional: true } },
  step: { views: [ViewId.labs], states: ['locked', 'current', 'done', 'failed'] },
  'lab-problem': { views: [ViewId.labs] },
  summary: { views: [ViewId.organizer] },
  attendee: { views: [ViewId.organizer], states: STACK_STATES, facets: { invite: ['none', 'sent', 'redeemed', 'expired'] } },
} as const satisfies Record<string, KindSpec>;

export type RowKind = keyof typeof ROW_KINDS;

type StatesOf<K extends RowKind> = (typeof ROW_KINDS)[K] extends { states: readonly (infer S)[] } ? S : never;
type FacetsOf<K extends RowKind> = (typeof ROW_KINDS)[K] extends { facets: infer F } ? { [N in keyof F]?: F[N] extends readonly (infer V)[] ? V : boolean } : Record<never, never>;

/** A context value as the grammar writes it (see the top of this file). */
export type ContextValue = string & { readonly __contextValue?: never };

/** Builds a context value; the types allow only the kind's states and facets. */
export function contextValue<K extends RowKind>(kind: K, state?: StatesOf<K>, facets?: FacetsOf<K>): ContextValue {
  let out: string = kind;
  if (state !== undefined) out += `:${state}`;
  for (const [name, value] of Object.entries(facets ?? {})) {
    if (value === true) out += ` ${name}`;
    else if (typeof value === 'string') out += ` ${name}:${value}`;
  }
  return out;
}

/** The kind a context value names (its first word, before any state). */
export function kindOf(value: ContextValue): RowKind | undefined {
  const kind = /^[a-z-]+/.exec(value)?.[0];
  return kind && kind in ROW_KINDS ? (kind as RowKind) : undefined;
}

/**
 * Every context value the grammar allows in a view: each kind × state × subset of its facets.
 * What the manifest test matches menus against.
 */
export function contextValuesOf(view: View): { kind: RowKind; value: ContextValue }[] {
  const out: { kind: RowKind; value: ContextValue }[] = [];
  for (const [kind, spec] of Object.entries(ROW_KINDS) as [RowKind, KindSpec][]) {
    if (!spec.views.includes(view)) continue;
    const states: (string | undefined)[] = spec.states?.length ? [...spec.states] : [undefined];
    const facetOptions = Object.entries(spec.facets ?? {}).map(([name, values]) => (values === true ? [undefined, ` ${name}`] : [undefined, ...values.map((v) => ` ${name}:${v}`)]));
    const combos = facetOptions.reduce<string[]>((acc, options) => acc.flatMap((a) => options.map((o) => a + (o ?? ''))), ['']);
    for (const state of states) for (const facets of combos) out.push({ kind, value: `${kind}${state === undefined ? '' : `:${state}`}${facets}` });
  }
  return out;
}
