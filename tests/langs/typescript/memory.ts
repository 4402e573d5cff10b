// Keeps 1 MB buffers until 1 GB, each written: past any limit the registry gives Node.
const kept: Uint8Array[] = [];
for (let i = 0; i < 1024; i++) kept.push(Buffer.alloc(1 << 20, 1));
console.log(`kept ${kept.length} MB`);
