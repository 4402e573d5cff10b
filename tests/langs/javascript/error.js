console.error("error: something went wrong");
process.exit(3);
