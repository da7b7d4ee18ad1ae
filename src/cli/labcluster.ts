// Placeholder: replaced by the labcluster entry point.
console.error('not built yet');
process.exit(1);
