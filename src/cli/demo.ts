// Placeholder: replaced by the demo entry point.
console.error('not built yet');
process.exit(1);
