export { buildClusterNodes, connectionNodes, allocSummary, type ConnectionView } from './clusterTree';
export { buildAllocationNodes, allocationNode, age, ALLOC_ICONS, type AllocationFilter } from './allocationsTree';
