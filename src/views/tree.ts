/**
 * What a tree's source gives the editor's generic tree (src/ui/views/viewTree.ts): the rows at
 * the top (or a state that explains why there are none), the children of a row that computes
 * them when unfolded, and a row's current look when it is redrawn in place.
 */
import type { ViewNode } from './node';
import type { TreeRoots } from './states';

export interface TreeSource {
  roots(): TreeRoots;
  /** Children of an `expandable` row (lazy trees); other rows carry their `children`. */
  children?(node: ViewNode): ViewNode[];
  /** The row as it looks now, for rows redrawn without a new listing (lazy trees). */
  current?(node: ViewNode): ViewNode;
}
