// Placeholder: replaced by the organizer entry point.
console.error('not built yet');
process.exit(1);
