// Placeholder: replaced by the stack entry point.
console.error('not built yet');
process.exit(1);
