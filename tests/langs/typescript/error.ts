const message: string = "error: something went wrong";
console.error(message);
process.exit(3);
