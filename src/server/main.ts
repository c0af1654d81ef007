console.error('server: not implemented yet');
process.exit(1);
